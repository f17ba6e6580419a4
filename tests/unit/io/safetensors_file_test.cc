#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"

namespace turbolm {
namespace {

using testing::expect_error;
using testing::TempDir;

Tensor iota(const Shape& shape, float start) {
  Tensor t = Tensor::zeros(shape, DType::kF32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

TEST(SafetensorsFile, MapsTensorsZeroCopy) {
  TempDir dir;
  Tensor h = Tensor::zeros({3}, DType::kF16);
  h.data<f16>()[1] = float_to_f16(1.5f);
  write_safetensors(dir / "m.safetensors", {{"w", iota({2, 3}, 10)}, {"h", h}, {"i", Tensor::zeros({2}, DType::kI32)}},
                    {{"format", "pt"}});
  auto file = SafetensorsFile::open(dir / "m.safetensors");
  EXPECT_EQ(file->path(), dir / "m.safetensors");
  EXPECT_EQ(file->metadata().at("format"), "pt");
  ASSERT_EQ(file->tensors().size(), 3u);
  ASSERT_NE(file->find("w"), nullptr);
  EXPECT_EQ(file->find("x"), nullptr);

  Tensor w = file->tensor("w");
  EXPECT_EQ(w.to_string(), "f32[2, 3] cpu");
  EXPECT_EQ(w.data<float>()[4], 14.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data()) % 8, 0u);  // the writer keeps tensors aligned
  EXPECT_EQ(f16_to_float(file->tensor("h").data<f16>()[1]), 1.5f);
  // Two views of one tensor share the mapping: no copies.
  EXPECT_EQ(file->tensor("w").data(), w.data());
}

TEST(SafetensorsFile, TensorKeepsTheMappingAlive) {
  TempDir dir;
  write_safetensors(dir / "m.safetensors", {{"w", iota({64}, 0)}});
  Tensor w;
  {
    auto file = SafetensorsFile::open(dir / "m.safetensors");
    w = file->tensor("w");
  }
  std::filesystem::remove(dir / "m.safetensors");
  EXPECT_EQ(w.data<float>()[63], 63.0f);
}

TEST(SafetensorsFile, MissingTensorNamesFileAndTensor) {
  TempDir dir;
  write_safetensors(dir / "m.safetensors", {{"w", iota({2}, 0)}});
  auto file = SafetensorsFile::open(dir / "m.safetensors");
  expect_error([&] { file->tensor("lm_head.weight"); }, ErrorCode::kNotFound, {"m.safetensors", "'lm_head.weight'"});
}

TEST(SafetensorsFile, MissingFileIsNotFound) {
  TempDir dir;
  expect_error([&] { SafetensorsFile::open(dir / "nope.safetensors"); }, ErrorCode::kNotFound,
               {"nope.safetensors", "no such file"});
  expect_error([&] { SafetensorsFile::open(dir.path()); }, ErrorCode::kInvalidArgument, {"not a regular file"});
}

TEST(SafetensorsFile, TruncatedFileNamesFileAndTensor) {
  TempDir dir;
  write_safetensors(dir / "model-00002-of-00004.safetensors", {{"a", iota({4}, 0)}, {"b", iota({4}, 0)}});
  std::filesystem::resize_file(dir / "model-00002-of-00004.safetensors",
                               std::filesystem::file_size(dir / "model-00002-of-00004.safetensors") - 4);
  expect_error([&] { SafetensorsFile::open(dir / "model-00002-of-00004.safetensors"); }, ErrorCode::kInvalidArgument,
               {"model-00002-of-00004.safetensors: tensor 'b': data offsets [16, 32) exceed the data section (28 "
                "bytes)"});
}

TEST(SafetensorsFile, EmptyAndGarbageFilesAreInvalid) {
  TempDir dir;
  testing::write_file(dir / "empty.safetensors", "");
  expect_error([&] { SafetensorsFile::open(dir / "empty.safetensors"); }, ErrorCode::kInvalidArgument,
               {"empty.safetensors", "not a safetensors file"});
  testing::write_file(dir / "text.safetensors", "version https://git-lfs.github.com/spec/v1\noid sha256:abc\n");
  expect_error([&] { SafetensorsFile::open(dir / "text.safetensors"); }, ErrorCode::kInvalidArgument,
               {"text.safetensors", "header length"});
}

TEST(SafetensorsFile, OpensStories260K) {
  auto file = SafetensorsFile::open(testing::stories_dir() / "model.safetensors");
  EXPECT_EQ(file->tensors().size(), 47u);  // tied embeddings: no lm_head.weight
  EXPECT_EQ(file->metadata().at("format"), "pt");
  Tensor norm = file->tensor("model.norm.weight");
  EXPECT_EQ(norm.to_string(), "f32[64] cpu");
  EXPECT_FLOAT_EQ(norm.data<float>()[0], 2.4583089351654053f);
}

TEST(SafetensorsFile, ReadAccessGivesTheSameBytesInHugePageMemory) {
  const auto path = testing::stories_dir() / "model.safetensors";
  auto mapped = SafetensorsFile::open(path, FileAccess::kMap);
  auto read = SafetensorsFile::open(path, FileAccess::kRead);
  ASSERT_EQ(read->tensors().size(), mapped->tensors().size());
  for (const auto& info : mapped->tensors()) {
    Tensor a = mapped->tensor(info.name), b = read->tensor(info.name);
    ASSERT_NE(a.data(), b.data());
    ASSERT_EQ(std::memcmp(a.data(), b.data(), a.nbytes()), 0) << info.name;
  }
  // The file's bytes start at a 2 MiB boundary, so transparent huge pages can back them.
  uint64_t header_len = 0;
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(&header_len), 8);
  const auto& first = read->tensors()[0];
  const auto file_start = reinterpret_cast<uintptr_t>(read->tensor(first.name).data()) - first.begin - 8 - header_len;
  EXPECT_EQ(file_start % (uintptr_t{2} << 20), 0u);
}

TEST(SafetensorsFile, ReadAccessMissingFileIsNotFound) {
  TempDir dir;
  expect_error([&] { SafetensorsFile::open(dir / "absent.safetensors", FileAccess::kRead); }, ErrorCode::kNotFound,
               {"absent.safetensors"});
}

}  // namespace
}  // namespace turbolm
