// Counter-based random numbers: the draw for (seed, step) is a pure function, so a seeded request samples
// the same tokens on any backend, batch composition or thread count. Usable from CUDA (define TLM_HOST_DEVICE).
#pragma once

#include <cstdint>

#ifndef TLM_HOST_DEVICE
#if defined(__CUDACC__)
#define TLM_HOST_DEVICE __host__ __device__
#else
#define TLM_HOST_DEVICE
#endif
#endif

namespace turbolm {

// splitmix64 finaliser over (seed, step): a well-mixed 64-bit value.
TLM_HOST_DEVICE inline uint64_t random_bits(uint64_t seed, uint64_t step) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (step + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 bits of precision.
TLM_HOST_DEVICE inline float random_uniform(uint64_t seed, uint64_t step) {
  return static_cast<float>(random_bits(seed, step) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace turbolm
