// Maps config.json's architectures[0] to a model family.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "models/family.h"

namespace turbolm {

// Throws Unsupported naming `architecture` and listing the supported ones.
const FamilySpec& find_family(std::string_view architecture);
std::vector<std::string> supported_architectures();

}  // namespace turbolm
