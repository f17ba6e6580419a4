// A forward step recorded once as a CUDA graph and replayed with one launch: hundreds of kernel launches of a
// decode step become one, which removes the per-launch host cost and the gaps between dependent kernels.
// Backend-neutral front (models/ never sees CUDA); only CUDA devices can record (step_graphs_enabled()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/tensor.h"
#include "ops/exec_context.h"

namespace turbolm {

// True for a CUDA context in a build with the CUDA backend, unless the context runs eagerly (ctx.graphs false:
// `--eager-mode`) or TURBOLM_CUDA_GRAPHS=0 (e.g. to measure what graphs bring).
bool step_graphs_enabled(const ExecContext& ctx);

class StepGraph {
 public:
  // Records everything `work` enqueues (it receives a context on a private capturing stream; nothing runs)
  // and instantiates the graph. `work` must enqueue only device work: no host synchronisation, no uploads
  // from pageable memory. Exceptions from `work` end the capture and propagate.
  static std::unique_ptr<StepGraph> record(const ExecContext& ctx, const std::function<void(const ExecContext&)>& work);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // Enqueues the recorded work on ctx's stream.
  void replay(const ExecContext& ctx) const;
  // A device workspace the recorded kernels use has moved since recording: record again.
  bool stale() const;

 private:
  StepGraph(void* graph, uint64_t epoch) : graph_(graph), epoch_(epoch) {}
  void* graph_;
  uint64_t epoch_;
};

// Copies host i32 values into a device tensor through pinned staging, without synchronising (the small
// per-step inputs a replayed graph reads from fixed device addresses).
void upload_staged(const ExecContext& ctx, const int32_t* host, int64_t count, Tensor& device_dst);

}  // namespace turbolm
