// InternLM3: Llama names; optional biases (`qkv_bias`, `bias`) are loaded when the checkpoint has them.
#include "models/families/families.h"

namespace turbolm {

FamilySpec internlm3_family() { return FamilySpec{.architecture = "InternLM3ForCausalLM"}; }

}  // namespace turbolm
