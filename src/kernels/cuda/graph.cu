// CUDA graphs of whole forward steps (cuda_ops.h: begin_graph_capture .. launch_graph) and the pinned staging
// of the small per-step inputs a replay reads.
#include <atomic>
#include <cstring>
#include <mutex>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace turbolm::cuda {
namespace {

std::atomic<uint64_t> g_workspace_epoch{0};

struct Graph {
  cudaGraphExec_t exec = nullptr;
  CapturePool pool;
};

struct Capture {
  cudaStream_t stream = nullptr;
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
};

}  // namespace

uint64_t workspace_epoch() { return g_workspace_epoch.load(); }
void bump_workspace_epoch() { g_workspace_epoch.fetch_add(1); }

void* begin_graph_capture(void** capture_stream) {
  auto capture = std::make_unique<Capture>();
  CUDA_CHECK(cudaStreamCreateWithFlags(&capture->stream, cudaStreamNonBlocking));
  // Relaxed: the captured ops may still cudaMalloc through the caching allocator (it is not a stream operation).
  const cudaError_t error = cudaStreamBeginCapture(capture->stream, cudaStreamCaptureModeRelaxed);
  if (error != cudaSuccess) {
    cudaStreamDestroy(capture->stream);
    CUDA_CHECK(error);
  }
  set_capture_pool(&capture->graph->pool);
  *capture_stream = capture->stream;
  return capture.release();
}

void* end_graph_capture(void* handle, bool keep) {
  std::unique_ptr<Capture> capture(static_cast<Capture*>(handle));
  set_capture_pool(nullptr);
  cudaGraph_t graph = nullptr;
  const cudaError_t end_error = cudaStreamEndCapture(capture->stream, &graph);
  cudaStreamDestroy(capture->stream);
  std::unique_ptr<Graph> result = std::move(capture->graph);
  if (end_error != cudaSuccess || !keep) {
    cudaGetLastError();
    if (graph != nullptr) cudaGraphDestroy(graph);
    release_capture_pool(result->pool);
    if (keep) CUDA_CHECK(end_error);
    return nullptr;
  }
  const cudaError_t error = cudaGraphInstantiate(&result->exec, graph, 0);
  cudaGraphDestroy(graph);
  if (error != cudaSuccess) {
    release_capture_pool(result->pool);
    CUDA_CHECK(error);
  }
  return result.release();
}

void launch_graph(void* graph, void* stream) {
  CUDA_CHECK(cudaGraphLaunch(static_cast<Graph*>(graph)->exec, static_cast<cudaStream_t>(stream)));
}

void destroy_graph(void* handle) {
  if (handle == nullptr) return;
  std::unique_ptr<Graph> graph(static_cast<Graph*>(handle));
  cudaGraphExecDestroy(graph->exec);
  release_capture_pool(graph->pool);
}

void upload_staged(const void* host, size_t bytes, void* device_dst, void* stream) {
  // Two pinned halves used in turn: a half is rewritten only after the copy that last read it has finished
  // (its event), so the host may prepare step t+1 while step t's copy is still queued.
  struct Half {
    PinnedBuffer pinned;
    cudaEvent_t done = nullptr;
  };
  static std::mutex mutex;
  static Half halves[2];
  static int next = 0;
  std::lock_guard<std::mutex> lock(mutex);
  Half& h = halves[next];
  next ^= 1;
  if (h.done == nullptr) CUDA_CHECK(cudaEventCreateWithFlags(&h.done, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventSynchronize(h.done));  // also before growing: the old buffer may not be read any more
  void* pinned = h.pinned.reserve(std::max(bytes, size_t{64} << 10));
  std::memcpy(pinned, host, bytes);
  const auto s = static_cast<cudaStream_t>(stream);
  CUDA_CHECK(cudaMemcpyAsync(device_dst, pinned, bytes, cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaEventRecord(h.done, s));
}

}  // namespace turbolm::cuda
