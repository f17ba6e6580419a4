// InternLM2 / 2.5: its own names, and q/k/v packed into `wqkv` grouped per kv head (un-interleaved at load).
#include "models/families/families.h"

namespace turbolm {

FamilySpec internlm2_family() {
  return FamilySpec{
      .architecture = "InternLM2ForCausalLM",
      .embed = "model.tok_embeddings.weight",
      .final_norm = "model.norm.weight",
      .lm_head = "output.weight",
      .attn_norm = "model.layers.{}.attention_norm.weight",
      .ffn_norm = "model.layers.{}.ffn_norm.weight",
      .o = "model.layers.{}.attention.wo.weight",
      .qkv_grouped = "model.layers.{}.attention.wqkv.weight",
      .gate = "model.layers.{}.feed_forward.w1.weight",
      .up = "model.layers.{}.feed_forward.w3.weight",
      .down = "model.layers.{}.feed_forward.w2.weight",
  };
}

}  // namespace turbolm
