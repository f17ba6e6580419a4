// Rotary position embeddings. The frequency table is computed once on the host from the model config
// (default / linear / dynamic-NTK / llama3 / yarn / longrope, as transformers' ROPE_INIT_FUNCTIONS define them);
// the op rotates q and k in place.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "ops/exec_context.h"

namespace turbolm {

struct ModelConfig;

struct RopeTable {
  std::vector<float> inv_freq;     // [rotary_dim / 2]
  float attention_scaling = 1.0f;  // multiplies cos and sin (yarn / longrope mscale)
  int rotary_dim = 0;              // leading dims of each head that rotate (== head_dim for all current families)
  bool neox_style = true;          // true: rotate halves (HF rotate_half); false: rotate adjacent pairs (GPT-J)

  // Dynamic NTK: transformers recomputes inv_freq from the sequence length seen by a forward call.
  bool dynamic = false;
  double base = 10000.0;
  double dynamic_factor = 1.0;
  int64_t original_max_positions = 0;  // dynamic / longrope: longer sequences switch tables
  // Longrope: the long_factor table, used instead of inv_freq once seq_len > original_max_positions.
  std::vector<float> long_inv_freq;

  static RopeTable from_config(const ModelConfig& config);
  // The table to use for a sequence whose longest position in this step is seq_len - 1 (identity unless dynamic
  // or longrope). Dynamic NTK: base * (factor * seq_len / original_max - (factor - 1)) ^ (dim / (dim - 2)) once
  // seq_len > original_max, recomputed per call (transformers caches the largest table seen per model instead).
  RopeTable for_seq_len(int64_t seq_len) const;
};

// q: [T, Hq, D], k: [T, Hkv, D] (activation dtype, contiguous); positions: [T] i32 (host for CPU,
// device for CUDA). Rotates the first rotary_dim dims of every head of token t by angle positions[t] * inv_freq.
void rope(const ExecContext& ctx, Tensor& q, Tensor& k, const Tensor& positions, const RopeTable& table);

}  // namespace turbolm
