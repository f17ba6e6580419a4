// The projections of a Qwen3-8B layer (q/k/v fused, gate/up fused) and its lm_head, [out, in]: the shapes the CUDA
// benchmarks time linear kernels on (bench/results/cuda_h100.md).
#pragma once

#include <cstdint>

namespace turbolm::bench {

struct Projection {
  const char* name;
  int64_t out, in;
};
inline constexpr Projection kQwen3_8bProjections[] = {
    {"qkv", 6144, 4096}, {"o", 4096, 4096}, {"gate_up", 24576, 4096}, {"down", 4096, 12288}, {"lm_head", 151936, 4096}};

}  // namespace turbolm::bench
