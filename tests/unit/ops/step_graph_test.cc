// The backend-neutral side of CUDA graphs: CPU contexts never record (tests/unit/cuda/graph_test.cc covers the GPU).
#include "ops/step_graph.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace turbolm {
namespace {

TEST(StepGraph, CpuContextsRunEagerly) {
  EXPECT_FALSE(step_graphs_enabled(ExecContext{}));
  bool ran = false;
  EXPECT_THROW(StepGraph::record(ExecContext{}, [&](const ExecContext&) { ran = true; }), Error);
  EXPECT_FALSE(ran);  // nothing is enqueued on a context that cannot record
}

}  // namespace
}  // namespace turbolm
