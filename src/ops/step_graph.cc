#include "ops/step_graph.h"

#include <cstdlib>
#include <string_view>

#include "ops/dispatch.h"

namespace turbolm {

bool step_graphs_enabled(const ExecContext& ctx) {
#if TLM_OPS_HAVE_CUDA
  if (!ctx.device.is_cuda() || !ctx.graphs) return false;
  const char* env = std::getenv("TURBOLM_CUDA_GRAPHS");  // read every time: tests and benchmarks switch it
  return env == nullptr || std::string_view(env) != "0";
#else
  (void)ctx;
  return false;
#endif
}

#if TLM_OPS_HAVE_CUDA

std::unique_ptr<StepGraph> StepGraph::record(const ExecContext& ctx,
                                             const std::function<void(const ExecContext&)>& work) {
  TLM_CHECK(ctx.device.is_cuda()) << "StepGraph: only CUDA work can be recorded";
  const uint64_t epoch = cuda::workspace_epoch();
  ExecContext capturing = ctx;
  void* capture = cuda::begin_graph_capture(&capturing.stream);
  try {
    work(capturing);
  } catch (...) {
    cuda::end_graph_capture(capture, false);
    throw;
  }
  return std::unique_ptr<StepGraph>(new StepGraph(cuda::end_graph_capture(capture, true), epoch));
}

StepGraph::~StepGraph() { cuda::destroy_graph(graph_); }
void StepGraph::replay(const ExecContext& ctx) const { cuda::launch_graph(graph_, ctx.stream); }
bool StepGraph::stale() const { return cuda::workspace_epoch() != epoch_; }

void upload_staged(const ExecContext& ctx, const int32_t* host, int64_t count, Tensor& device_dst) {
  TLM_CHECK(device_dst.device().is_cuda() && device_dst.dtype() == DType::kI32 && device_dst.is_contiguous() &&
            device_dst.numel() >= count)
      << "upload_staged: needs a contiguous i32 CUDA tensor of at least " << count << " values, got "
      << device_dst.to_string();
  cuda::upload_staged(host, static_cast<size_t>(count) * sizeof(int32_t), device_dst.data(), ctx.stream);
}

#else

std::unique_ptr<StepGraph> StepGraph::record(const ExecContext&, const std::function<void(const ExecContext&)>&) {
  TLM_FAIL(kUnsupported) << "CUDA graphs need the CUDA backend, which this build does not have";
}
StepGraph::~StepGraph() = default;
void StepGraph::replay(const ExecContext&) const {}
bool StepGraph::stale() const { return true; }
void upload_staged(const ExecContext&, const int32_t*, int64_t, Tensor&) {
  TLM_FAIL(kUnsupported) << "upload_staged needs the CUDA backend, which this build does not have";
}

#endif

}  // namespace turbolm
