// Qwen2 / Qwen2.5: the Llama layout with biases on q, k and v.
#include "models/families/families.h"

namespace turbolm {

FamilySpec qwen2_family() { return FamilySpec{.architecture = "Qwen2ForCausalLM", .requires_qkv_bias = true}; }

}  // namespace turbolm
