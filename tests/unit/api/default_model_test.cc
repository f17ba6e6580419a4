// The embedded default model (models/default) through the public API: tokenizer, chat template, engine and
// model against transformers' outputs (tests/data/default_model, made by tools/default_model_fixtures.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "turbolm/engine.h"
#include "turbolm/pipeline.h"

namespace turbolm {
namespace {

const std::string kModel = std::string(TURBOLM_SOURCE_DIR) + "/models/default";

nlohmann::json fixture(const std::string& name) {
  std::ifstream in(std::string(TURBOLM_SOURCE_DIR) + "/tests/data/default_model/" + name);
  return nlohmann::json::parse(in);
}

EngineConfig small_config() {
  EngineConfig c;
  c.cache_max_entry_count = 64;
  c.cache_block_seq_len = 16;
  return c;
}

TEST(DefaultModel, TokenizerMatchesTransformers) {
  auto tok = Tokenizer::from_dir(kModel);
  for (const auto& c : fixture("tokenizer.json")["cases"]) {
    const std::string text = c["text"];
    EXPECT_EQ(tok->encode(text, false), c["ids"].get<std::vector<int32_t>>()) << text;
    EXPECT_EQ(tok->decode(c["ids"].get<std::vector<int32_t>>(), false), text);
  }
}

TEST(DefaultModel, PromptsAndGreedyOutputsMatchTransformers) {
  auto engine = Engine::create(kModel, small_config());
  Pipeline pipe(std::move(engine));
  for (const auto& c : fixture("greedy.json")["cases"]) {
    Request request;
    if (c["kind"] == "text") {
      request.prompt = c["prompt"];
      request.add_special_tokens = false;  // the fixture tokenizes with add_special_tokens=False (no BOS anyway)
    } else {
      request.messages_json = c["messages"].dump();
    }
    const auto expected_prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(pipe.engine().prompt_ids(request), expected_prompt) << c.dump();

    GenerationConfig gen;
    gen.max_new_tokens = 32;
    gen.ignore_eos = true;
    std::vector<Response> out = pipe.generate({expected_prompt}, gen);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].token_ids, c["output_ids"].get<std::vector<int32_t>>()) << c["prompt"];
  }
}

}  // namespace
}  // namespace turbolm
