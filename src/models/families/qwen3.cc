// Qwen3 (dense): the Llama layout with a per-head RMSNorm on q and k before RoPE; head_dim is explicit.
#include "models/families/families.h"

namespace turbolm {

FamilySpec qwen3_family() {
  return FamilySpec{
      .architecture = "Qwen3ForCausalLM",
      .q_norm = "model.layers.{}.self_attn.q_norm.weight",
      .k_norm = "model.layers.{}.self_attn.k_norm.weight",
  };
}

}  // namespace turbolm
