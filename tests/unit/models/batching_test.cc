// A step may mix sequences and phases: results must not depend on who else is in the batch.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace turbolm {
namespace {

std::string stories() { return std::string(TURBOLM_SHARED_DIR) + "/models/stories260K-hf"; }

TEST(Batching, DecodingTogetherEqualsAlone) {
  auto model = load_model(stories());
  const std::vector<std::vector<int32_t>> prompts = {{1, 403, 407}, {1, 300}, {1, 261, 378, 432, 383, 286}};
  std::vector<std::vector<int32_t>> alone;
  for (const auto& p : prompts) alone.push_back(testing_util::greedy(*model, p, 20));

  // Together: sequence 0 prefills first; 1 and 2 join while 0 decodes (mixed prefill + decode steps).
  KvCache cache(model->kv_cache_spec(24, 4, KvQuant::kNone));  // 7 blocks of 4 per sequence
  std::vector<testing_util::SingleSequence> seqs(3);
  for (int s = 0; s < 3; ++s) {
    seqs[s].tokens = prompts[s];
    for (int b = 0; b < 7; ++b) seqs[s].block_table.push_back(23 - (b * 3 + s));
  }
  std::vector<std::vector<int32_t>> together(3);
  for (int stepi = 0; stepi < 22; ++stepi) {
    std::vector<testing_util::SingleSequence*> active;
    std::vector<int> ids;
    for (int s = 0; s < 3; ++s)
      if (stepi >= s && together[s].size() < 20) active.push_back(&seqs[s]), ids.push_back(s);
    if (active.empty()) break;
    Tensor logits = testing_util::step(*model, cache, active);
    for (size_t r = 0; r < ids.size(); ++r) {
      const int32_t tok = testing_util::argmax_row(logits, static_cast<int64_t>(r));
      together[ids[r]].push_back(tok);
      seqs[ids[r]].tokens.push_back(tok);
    }
  }
  EXPECT_EQ(together, alone);
}

TEST(Batching, ChunkedPrefillEqualsOneShot) {
  auto model = load_model(stories());
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};
  KvCache one(model->kv_cache_spec(4, 8, KvQuant::kNone));
  testing_util::SingleSequence a{prompt, {0, 1}, 0};
  Tensor full = testing_util::step(*model, one, {&a});
  std::vector<float> expected(full.data<float>(), full.data<float>() + full.numel());

  KvCache chunked(model->kv_cache_spec(4, 8, KvQuant::kNone));
  testing_util::SingleSequence b{{prompt.begin(), prompt.begin() + 5}, {3, 1}, 0};
  testing_util::step(*model, chunked, {&b});
  b.tokens = prompt;
  Tensor last = testing_util::step(*model, chunked, {&b});
  ASSERT_EQ(last.numel(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < last.numel(); ++i) ASSERT_NEAR(last.data<float>()[i], expected[i], 1e-4) << i;
}

}  // namespace
}  // namespace turbolm
