// Mistral 7B v0.1-v0.3: the Llama layout (sliding window unused at these context lengths).
#include "models/families/families.h"

namespace turbolm {

FamilySpec mistral_family() { return FamilySpec{.architecture = "MistralForCausalLM"}; }

}  // namespace turbolm
