// The rotary table as CUDA kernel parameters (rope.cu, qkv_rope_kv_write.cu): the frequencies travel by value,
// so the kernels need no upload and stay capturable in a CUDA graph.
#pragma once

#include <algorithm>

#include "core/error.h"
#include "ops/rope.h"

namespace turbolm::cuda {

inline constexpr int kMaxHalfRotary = 256;  // rotary_dim up to 512

struct RopeArgs {
  float inv_freq[kMaxHalfRotary];
  float scaling;
  int half_rotary;
  int head_dim;
  int q_heads;
  int k_heads;
  bool neox;
};

inline RopeArgs rope_args(const RopeTable& table, int head_dim, int q_heads, int k_heads, const char* op) {
  const int half = table.rotary_dim / 2;
  TLM_CHECK(half > 0 && half <= kMaxHalfRotary && static_cast<int>(table.inv_freq.size()) == half)
      << op << ": rotary_dim " << table.rotary_dim << " with " << table.inv_freq.size() << " frequencies";
  RopeArgs args{};
  std::copy(table.inv_freq.begin(), table.inv_freq.end(), args.inv_freq);
  args.scaling = table.attention_scaling;
  args.half_rotary = half;
  args.head_dim = head_dim;
  args.q_heads = q_heads;
  args.k_heads = k_heads;
  args.neox = table.neox_style;
  return args;
}

}  // namespace turbolm::cuda
