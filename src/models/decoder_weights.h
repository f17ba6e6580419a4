// The canonical weights of a Llama-style decoder, loaded from any family's checkpoint names.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "io/model_config.h"
#include "io/weight_source.h"
#include "models/family.h"
#include "ops/linear.h"

namespace turbolm {

// The slice of the decoder one tensor-parallel rank holds (docs/tensor_parallel.md). With size 1 it is the
// whole model. Query heads, the MLP's intermediate and the vocab are split evenly; kv heads too, or, when
// tp > Hkv, each rank holds the one kv head its query heads attend to (replicated over tp / Hkv ranks).
struct DecoderShard {
  int rank = 0;
  int size = 1;
  int64_t q_head_begin = 0, q_heads = 0;    // Hq / tp heads from rank * Hq / tp
  int64_t kv_head_begin = 0, kv_heads = 0;  // max(1, Hkv / tp) heads from rank * Hkv / tp
  int64_t intermediate = 0;                 // I / tp columns of the MLP from rank * I / tp
  int64_t vocab_begin = 0, vocab = 0;       // V / tp vocab rows from rank * V / tp

  // Throws InvalidArgument naming the dimension that `size` does not divide.
  static DecoderShard make(const ModelConfig& config, int rank, int size);
  bool split() const { return size > 1; }
};

// Dimensions are the rank's (see DecoderShard): Hq, Hkv, I and V below are per rank when split.
struct DecoderLayerWeights {
  Tensor attn_norm;  // [H]
  // [(Hq + 2*Hkv)*D, H]: q rows, then k rows, then v rows (column-parallel: the rank's heads). One product
  // instead of three: on CUDA one launch reading 1.5x the bytes of q alone, where the separate k/v GEMVs
  // were too small to reach the memory bandwidth.
  LinearWeight qkv;
  Tensor q_norm, k_norm;  // [D] or undefined
  LinearWeight o;         // [H, Hq*D]  (row-parallel: the rank's input columns; bias on rank 0 only)
  Tensor ffn_norm;        // [H]
  LinearWeight gate_up;   // [2*I, H]: gate rows then up rows (silu_mul's layout), the rank's slice of each
  LinearWeight down;      // [H, I]  (row-parallel, like o)
};

struct DecoderWeights {
  // [V, H]; when split, [V/tp + 1, H]: the rank's vocab rows then one zero row that every token id outside
  // the rank's range is mapped to, so the all-reduced lookups sum to the full embedding.
  Tensor embed;
  std::vector<DecoderLayerWeights> layers;
  Tensor final_norm;     // [H]
  LinearWeight lm_head;  // [V, H] (the rank's vocab rows when split); shares `embed` when tied
  DecoderShard shard;

  size_t bytes() const;  // resident weight bytes (a tied lm_head counted once)
};

// Reads every tensor the family names, checks shapes against the config, applies load-time transforms
// (q/k/v and gate/up fusion, InternLM2 wqkv un-interleave, biases to f32), keeps `shard`'s slice and places the
// result on `device`. The checkpoint is the unchanged Hugging Face folder whatever the shard.
DecoderWeights load_decoder_weights(const ModelConfig& config, const FamilySpec& family, const WeightSource& source,
                                    Device device, const DecoderShard& shard);
DecoderWeights load_decoder_weights(const ModelConfig& config, const FamilySpec& family, const WeightSource& source,
                                    Device device);

}  // namespace turbolm
