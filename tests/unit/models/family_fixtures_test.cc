// Every family against transformers: logits of a batched prefill and 32 greedy tokens (tests/data/models).
#include <gtest/gtest.h>

#include <cmath>

#include "model_test_util.h"

namespace turbolm {
namespace {

using testing_util::read_json;

class FamilyFixture : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/" + GetParam(); }
};

TEST_P(FamilyFixture, PrefillLogitsMatchTransformers) {
  const auto ref = read_json(dir() + "/reference.json");
  const std::vector<int32_t> prompt = ref["prompt_ids"];
  const std::vector<float> expected = ref["logits"];
  const int64_t vocab = ref["vocab_size"];
  auto model = load_model(dir());
  ASSERT_EQ(model->config().architecture, ref["architecture"]);
  // Three prefixes of the prompt as three sequences of one batch: rows must equal positions 7, 15 and 23.
  KvCache cache(model->kv_cache_spec(12, 8, KvQuant::kNone));
  testing_util::SingleSequence a{{prompt.begin(), prompt.begin() + 8}, {0}, 0};
  testing_util::SingleSequence b{{prompt.begin(), prompt.begin() + 16}, {5, 2}, 0};
  testing_util::SingleSequence c{prompt, {9, 1, 7}, 0};
  Tensor logits = testing_util::step(*model, cache, {&a, &b, &c});
  ASSERT_EQ(logits.shape(), (Shape{3, vocab}));
  const int64_t positions[] = {7, 15, 23};
  for (int r = 0; r < 3; ++r) {
    double max_err = 0, max_ref = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      const double want = expected[positions[r] * vocab + v];
      max_err = std::max(max_err, std::abs(logits.data<float>()[r * vocab + v] - want));
      max_ref = std::max(max_ref, std::abs(want));
    }
    EXPECT_LT(max_err, 1e-4 * std::max(1.0, max_ref)) << GetParam() << " row " << r << " (max |ref| " << max_ref << ")";
  }
}

TEST_P(FamilyFixture, GreedyMatchesTransformers) {
  const auto ref = read_json(dir() + "/reference.json");
  const std::vector<int32_t> prompt = ref["prompt_ids"];
  const std::vector<int32_t> expected = ref["greedy_ids"];
  auto model = load_model(dir());
  EXPECT_EQ(testing_util::greedy(*model, prompt, static_cast<int>(expected.size())), expected) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, FamilyFixture,
                         ::testing::Values("llama3", "llama_linear_tied", "mistral", "qwen2_yarn", "qwen3",
                                           "internlm2_dynamic", "internlm3"));

}  // namespace
}  // namespace turbolm
