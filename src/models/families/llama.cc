// Llama 2 / 3 / 3.1 / 3.2 (all rope scalings come from the config). Also the layout of Mistral and InternLM3.
#include "models/families/families.h"

namespace turbolm {

FamilySpec llama_family() { return FamilySpec{.architecture = "LlamaForCausalLM"}; }

}  // namespace turbolm
