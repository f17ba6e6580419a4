#include "io/weight_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "io/safetensors_writer.h"
#include "io_test_util.h"

namespace turbolm {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_file;

Tensor filled(const Shape& shape, float value) {
  Tensor t = Tensor::zeros(shape, DType::kF32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = value;
  return t;
}

// Two shards and an index mapping a, b -> shard 1 and c -> shard 2.
void write_sharded(const TempDir& dir, const std::string& weight_map) {
  write_safetensors(dir / "model-00001-of-00002.safetensors", {{"a", filled({2}, 1)}, {"b", filled({3}, 2)}});
  write_safetensors(dir / "model-00002-of-00002.safetensors", {{"c", filled({4}, 3)}});
  write_file(dir / "model.safetensors.index.json", R"({"metadata":{"total_size":36},"weight_map":)" + weight_map + "}");
}

const std::string kGoodMap = R"({"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
                             R"("c":"model-00002-of-00002.safetensors"})";

TEST(WeightSource, SingleFile) {
  TempDir dir;
  write_safetensors(dir / "model.safetensors", {{"w", filled({2, 2}, 7)}});
  write_safetensors(dir / "other.safetensors", {{"ignored", filled({1}, 0)}});  // model.safetensors wins
  const WeightSource ws = WeightSource::open_dir(dir.path());
  EXPECT_EQ(ws.names(), std::vector<std::string>{"w"});
  EXPECT_TRUE(ws.contains("w"));
  EXPECT_FALSE(ws.contains("ignored"));
  EXPECT_EQ(ws.get("w").data<float>()[3], 7.0f);
  EXPECT_FALSE(ws.get_optional("bias").has_value());
  EXPECT_EQ(ws.info("w")->shape, (Shape{2, 2}));
  expect_error([&] { ws.get("lm_head.weight"); }, ErrorCode::kNotFound, {"'lm_head.weight'", dir.path().string()});
}

TEST(WeightSource, ShardedWithIndex) {
  TempDir dir;
  write_sharded(dir, kGoodMap);
  write_safetensors(dir / "model.safetensors", {{"stale", filled({1}, 0)}});  // the index wins
  const WeightSource ws = WeightSource::open_dir(dir.path());
  EXPECT_EQ(ws.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ws.files().size(), 2u);
  EXPECT_EQ(ws.get("c").data<float>()[3], 3.0f);
  ASSERT_TRUE(ws.get_optional("b").has_value());
  EXPECT_EQ(ws.get_optional("b")->shape(), (Shape{3}));
  // Copies share the mappings.
  const WeightSource copy = ws;
  EXPECT_EQ(copy.get("a").data(), ws.get("a").data());
}

TEST(WeightSource, MissingShard) {
  TempDir dir;
  write_sharded(dir, kGoodMap);
  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kNotFound,
               {"model.safetensors.index.json", "shard model-00002-of-00002.safetensors", "'c'", "missing"});
}

TEST(WeightSource, TensorMissingFromItsShard) {
  TempDir dir;
  write_sharded(dir, R"({"a":"model-00001-of-00002.safetensors","d":"model-00002-of-00002.safetensors"})");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {"model.safetensors.index.json", "tensor 'd'", "model-00002-of-00002.safetensors", "does not contain"});
}

TEST(WeightSource, TensorInAnotherShardThanMapped) {
  TempDir dir;
  write_sharded(dir, R"({"a":"model-00002-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
                     R"("c":"model-00002-of-00002.safetensors"})");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {"tensor 'a'", "mapped to model-00002-of-00002.safetensors", "model-00001-of-00002.safetensors"});
}

TEST(WeightSource, DuplicateTensorAcrossShards) {
  TempDir dir;
  write_safetensors(dir / "x.safetensors", {{"a", filled({2}, 1)}});
  write_safetensors(dir / "y.safetensors", {{"a", filled({2}, 2)}, {"b", filled({2}, 2)}});
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {"tensor 'a'", "x.safetensors", "y.safetensors"});
}

TEST(WeightSource, AllSafetensorsFilesWithoutIndex) {
  TempDir dir;
  write_safetensors(dir / "x.safetensors", {{"a", filled({2}, 1)}});
  write_safetensors(dir / "y.safetensors", {{"b", filled({2}, 2)}});
  write_file(dir / "notes.txt", "not a weight file");
  const WeightSource ws = WeightSource::open_dir(dir.path());
  EXPECT_EQ(ws.names(), (std::vector<std::string>{"a", "b"}));
}

TEST(WeightSource, BadFoldersAndIndexes) {
  TempDir dir;
  expect_error([&] { WeightSource::open_dir(dir / "absent"); }, ErrorCode::kNotFound, {"absent", "does not exist"});
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kNotFound, {"no model.safetensors"});

  write_file(dir / "model.safetensors.index.json", "{\"weight_map\": {");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {"model.safetensors.index.json", "invalid JSON"});
  write_file(dir / "model.safetensors.index.json", R"({"weight_map": []})");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument, {"'weight_map' object"});
  write_file(dir / "model.safetensors.index.json", R"({"weight_map": {"a": 3}})");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument, {"'a' must map to a file"});
  write_file(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "../../etc/x.safetensors"}})");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument, {"not a file name"});
  write_file(dir / "model.safetensors.index.json", R"({"weight_map": {}})");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument, {"empty"});
  const int depth = 60000;
  write_file(dir / "model.safetensors.index.json",
             "{\"weight_map\": {\"a\": " + std::string(depth, '[') + std::string(depth, ']') + "}}");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {"model.safetensors.index.json", "nested deeper than 256 levels"});
}

// A Hugging Face cache whose blob never finished downloading leaves a dangling link.
TEST(WeightSource, DanglingLinkIsNamed) {
  TempDir dir;
  std::filesystem::create_symlink(dir / "missing-blob", dir / "model.safetensors");
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kNotFound,
               {"model.safetensors is a link to a file that does not exist", "missing-blob"});
}

TEST(WeightSource, CorruptShardNamesTheShard) {
  TempDir dir;
  write_sharded(dir, kGoodMap);
  write_file(dir / "model-00002-of-00002.safetensors", std::string("\x02\0\0\0\0\0\0\0[]", 10));
  expect_error([&] { WeightSource::open_dir(dir.path()); }, ErrorCode::kInvalidArgument,
               {"model-00002-of-00002.safetensors", "header must be a JSON object"});
}

TEST(WeightSource, LoadsStories260K) {
  const WeightSource ws = WeightSource::open_dir(testing::stories_dir());
  EXPECT_EQ(ws.size(), 47u);
  EXPECT_FALSE(ws.contains("lm_head.weight"));  // tie_word_embeddings
  const Tensor embed = ws.get("model.embed_tokens.weight");
  EXPECT_EQ(embed.shape(), (Shape{512, 64}));
  EXPECT_EQ(embed.dtype(), DType::kF32);
  EXPECT_FLOAT_EQ(embed.data<float>()[0], -0.29474878311157227f);
  EXPECT_FLOAT_EQ(embed.data<float>()[3], 0.34057360887527466f);
  EXPECT_EQ(ws.get("model.layers.4.self_attn.k_proj.weight").shape(), (Shape{32, 64}));  // GQA: 4 kv heads x 8
  EXPECT_EQ(ws.get("model.layers.0.mlp.down_proj.weight").shape(), (Shape{64, 172}));
  const Tensor norm = ws.get("model.norm.weight");
  double sum = 0;
  for (int i = 0; i < 64; ++i) sum += norm.data<float>()[i];
  EXPECT_NEAR(sum, 115.95276230573654, 1e-3);
  for (const std::string& name : ws.names()) {
    const Tensor t = ws.get(name);
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_TRUE(std::isfinite(t.data<float>()[i])) << name;
  }
}

}  // namespace
}  // namespace turbolm
