// A model family: how one Hugging Face architecture names and packs the weights of the shared
// Llama-style decoder (decoder_model.h). Adding a Llama-like architecture = one families/<name>.cc file
// with a FamilySpec, plus its line in registry.cc and docs/supported_models.md.
#pragma once

#include <string_view>

namespace turbolm {

struct FamilySpec {
  std::string_view architecture;  // config.json architectures[0]
  // Tensor names; "{}" stands for the layer index. Biases are "<name minus .weight>.bias" and are loaded when present.
  std::string_view embed = "model.embed_tokens.weight";
  std::string_view final_norm = "model.norm.weight";
  std::string_view lm_head = "lm_head.weight";
  std::string_view attn_norm = "model.layers.{}.input_layernorm.weight";
  std::string_view ffn_norm = "model.layers.{}.post_attention_layernorm.weight";
  std::string_view q = "model.layers.{}.self_attn.q_proj.weight";
  std::string_view k = "model.layers.{}.self_attn.k_proj.weight";
  std::string_view v = "model.layers.{}.self_attn.v_proj.weight";
  std::string_view o = "model.layers.{}.self_attn.o_proj.weight";
  // Packed q/k/v (InternLM2 `wqkv`): rows grouped per kv head as [q heads of the group..., k, v] x head_dim.
  // When set, q/k/v above are ignored.
  std::string_view qkv_grouped;
  std::string_view q_norm;  // per-head RMSNorm of q and k before RoPE (Qwen3); empty when absent
  std::string_view k_norm;
  std::string_view gate = "model.layers.{}.mlp.gate_proj.weight";
  std::string_view up = "model.layers.{}.mlp.up_proj.weight";
  std::string_view down = "model.layers.{}.mlp.down_proj.weight";
  bool requires_qkv_bias = false;  // Qwen2: q/k/v always carry a bias
};

}  // namespace turbolm
