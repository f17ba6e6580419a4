// The backend-neutral side of CUDA graphs: CPU contexts never record (tests/unit/cuda/graph_test.cc covers the GPU).
#include "ops/step_graph.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"

namespace turbolm {
namespace {

TEST(StepGraph, CpuContextsRunEagerly) {
  EXPECT_FALSE(step_graphs_enabled(ExecContext{}));
  bool ran = false;
  EXPECT_THROW(StepGraph::record(ExecContext{}, [&](const ExecContext&) { ran = true; }), Error);
  EXPECT_FALSE(ran);  // nothing is enqueued on a context that cannot record
}

// --eager-mode: a CUDA context that says so never records (decided without touching a device, so it runs here).
TEST(StepGraph, EagerCudaContextsRunEagerly) {
  if (std::getenv("TURBOLM_CUDA_GRAPHS") != nullptr) GTEST_SKIP() << "TURBOLM_CUDA_GRAPHS is set";
  const ExecContext eager{.device = Device::cuda(0), .graphs = false};
  EXPECT_FALSE(step_graphs_enabled(eager));
#if defined(TURBOLM_WITH_CUDA)
  EXPECT_TRUE(step_graphs_enabled(ExecContext{.device = Device::cuda(0)}));
#else
  EXPECT_FALSE(step_graphs_enabled(ExecContext{.device = Device::cuda(0)}));  // no CUDA backend built
#endif
}

}  // namespace
}  // namespace turbolm
