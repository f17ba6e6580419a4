// The canonical weights of a Llama-style decoder, loaded from any family's checkpoint names.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "io/model_config.h"
#include "io/weight_source.h"
#include "models/family.h"
#include "ops/linear.h"

namespace turbolm {

struct DecoderLayerWeights {
  Tensor attn_norm;       // [H]
  LinearWeight q, k, v;   // [Hq*D, H], [Hkv*D, H], [Hkv*D, H]
  Tensor q_norm, k_norm;  // [D] or undefined
  LinearWeight o;         // [H, Hq*D]
  Tensor ffn_norm;        // [H]
  LinearWeight gate_up;   // [2*I, H]: gate rows then up rows (silu_mul's layout)
  LinearWeight down;      // [H, I]
};

struct DecoderWeights {
  Tensor embed;  // [V, H]
  std::vector<DecoderLayerWeights> layers;
  Tensor final_norm;     // [H]
  LinearWeight lm_head;  // [V, H]; shares `embed` when tied

  size_t bytes() const;  // resident weight bytes (a tied lm_head counted once)
};

// Reads every tensor the family names, checks shapes against the config, applies load-time transforms
// (gate/up fusion, InternLM2 wqkv un-interleave, biases to f32) and places the result on `device`.
DecoderWeights load_decoder_weights(const ModelConfig& config, const FamilySpec& family, const WeightSource& source,
                                    Device device);

}  // namespace turbolm
