// One function per supported architecture; registry.cc lists them.
#pragma once

#include "models/family.h"

namespace turbolm {

FamilySpec llama_family();
FamilySpec mistral_family();
FamilySpec qwen2_family();
FamilySpec qwen3_family();
FamilySpec internlm2_family();
FamilySpec internlm3_family();

}  // namespace turbolm
