// A real trained model: 200 greedy tokens from BOS equal llama2.c's own oracle.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace turbolm {
namespace {

TEST(Stories260K, Greedy200FromBosMatchesOracle) {
  const std::string shared = TURBOLM_SHARED_DIR;
  const auto oracle = testing_util::read_json(shared + "/models/stories260K/expected_greedy_ids.json");
  const std::vector<int32_t> prompt = oracle["prompt_ids"];
  const std::vector<int32_t> expected = oracle["greedy_ids"];
  ASSERT_EQ(expected.size(), 200u);
  auto model = load_model(shared + "/models/stories260K-hf");
  EXPECT_EQ(testing_util::greedy(*model, prompt, 200, 64), expected);
}

}  // namespace
}  // namespace turbolm
