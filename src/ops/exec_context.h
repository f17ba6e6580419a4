// What every op needs to run: where, with which threads, on which stream.
#pragma once

#include "core/device.h"
#include "core/thread_pool.h"

namespace turbolm {

struct ExecContext {
  Device device = Device::cpu();
  ThreadPool* pool = nullptr;  // CPU kernels; nullptr means ThreadPool::global()
  void* stream = nullptr;      // cudaStream_t for CUDA kernels (opaque here: ops/ stays CUDA-free)
  bool graphs = true;          // CUDA devices may record steps as graphs (ops/step_graph.h); false: eager mode

  ThreadPool& threads() const { return pool != nullptr ? *pool : ThreadPool::global(); }
};

}  // namespace turbolm
