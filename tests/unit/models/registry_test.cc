#include "models/registry.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace turbolm {
namespace {

TEST(Registry, FindsEverySupportedFamily) {
  for (const auto& arch : supported_architectures()) EXPECT_EQ(find_family(arch).architecture, arch);
  EXPECT_GE(supported_architectures().size(), 6u);
}

TEST(Registry, UnknownArchitectureListsSupported) {
  try {
    find_family("GPT2LMHeadModel");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    const std::string what = e.what();
    EXPECT_NE(what.find("GPT2LMHeadModel"), std::string::npos);
    EXPECT_NE(what.find("Qwen3ForCausalLM"), std::string::npos);
    EXPECT_NE(what.find("InternLM2ForCausalLM"), std::string::npos);
  }
}

}  // namespace
}  // namespace turbolm
