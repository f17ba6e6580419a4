#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/model_config.h"
#include "io_test_util.h"

namespace turbolm {
namespace {

using nlohmann::json;
using testing::expect_error;
using testing::TempDir;

GenerationDefaults parse(const std::string& text) {
  return GenerationDefaults::from_json(json::parse(text), "generation_config.json");
}

TEST(GenerationDefaults, Stories260K) {
  const GenerationDefaults g = GenerationDefaults::from_dir(testing::stories_dir());
  EXPECT_EQ(g.eos_token_ids, std::vector<int32_t>{2});
  EXPECT_EQ(g.bos_token_id, 1);
  EXPECT_FALSE(g.temperature.has_value());
  EXPECT_FALSE(g.do_sample.has_value());
}

TEST(GenerationDefaults, MissingFileGivesEmptyDefaults) {
  TempDir dir;
  const GenerationDefaults g = GenerationDefaults::from_dir(dir.path());
  EXPECT_TRUE(g.eos_token_ids.empty());
  EXPECT_FALSE(g.bos_token_id.has_value());
  EXPECT_FALSE(g.top_k.has_value());
}

TEST(GenerationDefaults, SamplingFields) {
  // Qwen2.5-Instruct's file.
  const GenerationDefaults g = parse(R"({"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true,
      "eos_token_id": [151645, 151643], "repetition_penalty": 1.05, "temperature": 0.7, "top_p": 0.8, "top_k": 20,
      "min_p": 0.0, "max_new_tokens": 2048, "transformers_version": "4.37.0"})");
  EXPECT_EQ(g.eos_token_ids, (std::vector<int32_t>{151645, 151643}));
  EXPECT_EQ(g.pad_token_id, 151643);
  EXPECT_EQ(g.do_sample, true);
  EXPECT_DOUBLE_EQ(*g.temperature, 0.7);
  EXPECT_DOUBLE_EQ(*g.top_p, 0.8);
  EXPECT_EQ(g.top_k, 20);
  EXPECT_DOUBLE_EQ(*g.repetition_penalty, 1.05);
  EXPECT_DOUBLE_EQ(*g.min_p, 0.0);
  EXPECT_EQ(g.max_new_tokens, 2048);
  EXPECT_FALSE(parse(R"({"temperature": null})").temperature.has_value());
}

TEST(GenerationDefaults, RejectsBadValues) {
  // The rule reads as written, not as a range up to a 300-digit double.
  expect_error([&] { parse(R"({"temperature": -0.5})"); }, ErrorCode::kInvalidArgument,
               {"generation_config.json", "'temperature' must be >= 0, got -0.5"});
  expect_error([&] { parse(R"({"repetition_penalty": 0})"); }, ErrorCode::kInvalidArgument,
               {"'repetition_penalty' must be > 0, got 0"});
  expect_error([&] { parse(R"({"top_p": 0})"); }, ErrorCode::kInvalidArgument, {"'top_p' must be in (0, 1], got 0"});
  expect_error([&] { parse(R"({"top_p": 1.5})"); }, ErrorCode::kInvalidArgument, {"'top_p'"});
  expect_error([&] { parse(R"({"top_k": -1})"); }, ErrorCode::kInvalidArgument, {"'top_k'"});
  expect_error([&] { parse(R"({"top_k": 0.5})"); }, ErrorCode::kInvalidArgument, {"'top_k' must be an integer"});
  expect_error([&] { parse(R"({"repetition_penalty": 0})"); }, ErrorCode::kInvalidArgument, {"'repetition_penalty'"});
  expect_error([&] { parse(R"({"do_sample": "yes"})"); }, ErrorCode::kInvalidArgument, {"'do_sample'"});
  expect_error([&] { parse(R"({"eos_token_id": [1, "x"]})"); }, ErrorCode::kInvalidArgument, {"'eos_token_id'"});
  expect_error([&] { parse(R"([])"); }, ErrorCode::kInvalidArgument, {"must be a JSON object"});
}

TEST(GenerationDefaults, BadFileIsAnError) {
  TempDir dir;
  testing::write_file(dir / "generation_config.json", "{");
  expect_error([&] { GenerationDefaults::from_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {"generation_config.json", "invalid JSON"});
}

}  // namespace
}  // namespace turbolm
