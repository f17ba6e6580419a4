#include "models/registry.h"

#include "core/error.h"
#include "models/families/families.h"

namespace turbolm {
namespace {

const std::vector<FamilySpec>& families() {
  static const std::vector<FamilySpec> all = {
      llama_family(), mistral_family(), qwen2_family(), qwen3_family(), internlm2_family(), internlm3_family(),
  };
  return all;
}

}  // namespace

const FamilySpec& find_family(std::string_view architecture) {
  for (const auto& family : families())
    if (family.architecture == architecture) return family;
  std::string list;
  for (const auto& name : supported_architectures()) list += (list.empty() ? "" : ", ") + name;
  TLM_FAIL(kUnsupported) << "unsupported architecture '" << architecture << "' (supported: " << list << ")";
}

std::vector<std::string> supported_architectures() {
  std::vector<std::string> names;
  for (const auto& family : families()) names.emplace_back(family.architecture);
  return names;
}

}  // namespace turbolm
