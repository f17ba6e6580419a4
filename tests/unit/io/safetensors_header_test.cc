#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"

namespace turbolm {
namespace {

using testing::expect_error;
using ::testing::HasSubstr;
using testing::raw_safetensors;

SafetensorsHeader parse(std::string_view header, size_t data_bytes) {
  const std::vector<uint8_t> bytes = raw_safetensors(header, data_bytes);
  return parse_safetensors_header(bytes, "f.safetensors");
}

void expect_invalid(std::string_view header, size_t data_bytes, const std::vector<std::string>& parts) {
  std::vector<std::string> all = parts;
  all.push_back("f.safetensors: ");
  expect_error([&] { parse(header, data_bytes); }, ErrorCode::kInvalidArgument, all);
}

TEST(SafetensorsHeader, ParsesTensorsAndMetadata) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[16,28]},)"
      R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  const SafetensorsHeader h = parse(header, 28);
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].name, "a");  // sorted by name
  EXPECT_EQ(h.tensors[0].dtype, DType::kF32);
  EXPECT_EQ(h.tensors[0].shape, (Shape{4}));
  EXPECT_EQ(h.tensors[1].name, "w");
  EXPECT_EQ(h.tensors[1].dtype, DType::kBF16);
  EXPECT_EQ(h.tensors[1].shape, (Shape{2, 3}));
  EXPECT_EQ(h.tensors[1].begin, 16u);
  EXPECT_EQ(h.tensors[1].end, 28u);
  EXPECT_EQ(h.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(h.data_offset, 8 + header.size());
}

TEST(SafetensorsHeader, AcceptsEmptyScalarZeroSizedAndPadding) {
  EXPECT_TRUE(parse("{}", 0).tensors.empty());
  EXPECT_TRUE(parse("{}      ", 0).tensors.empty());  // writers pad the header with spaces
  const SafetensorsHeader h = parse(
      R"({"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"z":{"dtype":"F16","shape":[0,7],"data_offsets":[8,8]},)"
      R"("z2":{"dtype":"U8","shape":[3,0],"data_offsets":[8,8]},"q":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[8,10]}})",
      10);
  ASSERT_EQ(h.tensors.size(), 4u);
  EXPECT_EQ(h.tensors[0].name, "q");
  EXPECT_EQ(h.tensors[0].dtype, DType::kF8E4M3);
  EXPECT_EQ(h.tensors[1].shape, Shape{});
  EXPECT_EQ(h.tensors[2].shape, (Shape{0, 7}));
}

TEST(SafetensorsHeader, IgnoresUnknownEntryKeysLikeTheReference) {
  const SafetensorsHeader h = parse(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}})", 1);
  EXPECT_EQ(h.tensors.size(), 1u);
}

TEST(SafetensorsHeader, RejectsFilesShorterThanTheLengthField) {
  const std::vector<uint8_t> bytes = {1, 0, 0};
  expect_error([&] { parse_safetensors_header(bytes, "tiny.safetensors"); }, ErrorCode::kInvalidArgument,
               {"tiny.safetensors", "shorter than the 8-byte header length"});
  expect_error([&] { parse_safetensors_header({}, "empty.safetensors"); }, ErrorCode::kInvalidArgument,
               {"empty.safetensors", "0 bytes"});
}

TEST(SafetensorsHeader, RejectsHeaderLengthPastTheFile) {
  std::vector<uint8_t> bytes = raw_safetensors("{}", 0);
  bytes[0] = 200;
  expect_error([&] { parse_safetensors_header(bytes, "f.safetensors"); }, ErrorCode::kInvalidArgument,
               {"f.safetensors", "header length 200 exceeds the file (10 bytes)"});
  bytes[0] = 0xff;
  bytes[7] = 0xff;  // 2^64-ish: must not overflow into a small number
  expect_error([&] { parse_safetensors_header(bytes, "f.safetensors"); }, ErrorCode::kInvalidArgument,
               {"f.safetensors", "limit"});
}

TEST(SafetensorsHeader, RejectsBadJson) {
  expect_invalid(R"({"a":{"dtype":"F32",)", 0, {"not valid JSON"});
  expect_invalid(R"([1, 2])", 0, {"must be a JSON object"});
  expect_invalid("{\"\xff\xfe\":1}", 0, {"not valid JSON"});  // invalid UTF-8
  expect_invalid(R"({"a":1} trailing)", 0, {"not valid JSON"});
  expect_invalid(R"({"a":[1]})", 0, {"tensor 'a'", "entry must be an object"});
}

// A 120 KB header nesting 60,000 levels overflowed the stack when its error message printed the value (audit).
TEST(SafetensorsHeader, RejectsDeepNesting) {
  const int depth = 60000;
  expect_invalid("{\"zz\": " + std::string(depth, '[') + std::string(depth, ']') + "}", 0,
                 {"nests JSON deeper than 256 levels"});
}

TEST(SafetensorsHeader, RejectsOffsetsPastTheEnd) {
  // A truncated file: the header promises 16 bytes, 12 are there.
  expect_invalid(
      R"({"model.layers.3.mlp.up_proj.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 12,
      {"tensor 'model.layers.3.mlp.up_proj.weight'", "data offsets [0, 16) exceed the data section (12 bytes)"});
}

TEST(SafetensorsHeader, RejectsOverlappingTensors) {
  expect_invalid(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                 12, {"tensor 'b'", "overlap tensor 'a' [0, 8)"});
  // Same range twice (aliasing) is an overlap too.
  expect_invalid(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                 8, {"overlap"});
}

TEST(SafetensorsHeader, RejectsDuplicateNames) {
  expect_invalid(
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2,
      {"tensor 'a' is listed twice"});
  // Repeated keys inside an entry are not names; the object itself is still validated.
  EXPECT_EQ(parse(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"a":1,"a":2,"dtype":"U8","shape":[0],)"
                  R"("data_offsets":[1,1]}})",
                  1)
                .tensors.size(),
            2u);
}

TEST(SafetensorsHeader, RejectsShapeSizeMismatch) {
  expect_invalid(R"({"a":{"dtype":"BF16","shape":[2,4],"data_offsets":[0,8]}})", 8,
                 {"tensor 'a'", "shape [2, 4] x BF16 needs 16 bytes, but data offsets [0, 8) hold 8"});
}

TEST(SafetensorsHeader, RejectsUnknownDType) {
  expect_invalid(R"({"a":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,2]}})", 2,
                 {"tensor 'a'", "unknown dtype \"Q4_K\""});
  expect_invalid(R"({"a":{"dtype":7,"shape":[2],"data_offsets":[0,2]}})", 2, {"'dtype' must be a string"});
}

TEST(SafetensorsHeader, RejectsMalformedEntries) {
  expect_invalid(R"({"a":{"shape":[2],"data_offsets":[0,2]}})", 2, {"tensor 'a'", "missing 'dtype'"});
  expect_invalid(R"({"a":{"dtype":"U8","data_offsets":[0,2]}})", 2, {"missing 'shape'"});
  expect_invalid(R"({"a":{"dtype":"U8","shape":[2]}})", 2, {"missing 'data_offsets'"});
  expect_invalid(R"({"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}})", 2, {"non-negative integers"});
  expect_invalid(R"({"a":{"dtype":"U8","shape":[2.5],"data_offsets":[0,2]}})", 2, {"non-negative integers"});
  expect_invalid(R"({"a":{"dtype":"U8","shape":2,"data_offsets":[0,2]}})", 2, {"non-negative integers"});
  expect_invalid(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0]}})", 2, {"'data_offsets' must be [begin, end]"});
  expect_invalid(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,-2]}})", 2, {"'data_offsets' must be"});
  expect_invalid(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[2,0]}})", 2, {"end before they begin"});
}

TEST(SafetensorsHeader, RejectsShapesThatOverflow) {
  expect_invalid(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8, {"too large"});
  expect_invalid(R"({"a":{"dtype":"F64","shape":[18446744073709551615],"data_offsets":[0,8]}})", 8, {"too large"});
  expect_invalid(R"({"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}})", 8, {"too large"});
}

TEST(SafetensorsHeader, RejectsNonStringMetadata) {
  expect_invalid(R"({"__metadata__":{"format":1}})", 0, {"'__metadata__' entry 'format' must be a string"});
  expect_invalid(R"({"__metadata__":"pt"})", 0, {"'__metadata__' must be an object"});
}

TEST(SafetensorsHeader, WriterOutputRoundTrips) {
  Tensor a = Tensor::zeros({2, 3}, DType::kF32);
  for (int i = 0; i < 6; ++i) a.data<float>()[i] = static_cast<float>(i);
  Tensor b = Tensor::zeros({5}, DType::kBF16);
  const std::vector<uint8_t> bytes = serialize_safetensors({{"z.a", a}, {"b", b}}, {{"format", "pt"}});
  const SafetensorsHeader h = parse_safetensors_header(bytes, "mem");
  EXPECT_EQ(h.data_offset % 8, 0u);
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].name, "b");
  EXPECT_EQ(h.tensors[0].begin, 24u);  // written in the given order: z.a first
  EXPECT_EQ(h.tensors[1].shape, (Shape{2, 3}));
  EXPECT_EQ(h.metadata.at("format"), "pt");
  float values[6];
  std::memcpy(values, bytes.data() + h.data_offset, sizeof(values));
  EXPECT_EQ(values[5], 5.0f);
}

TEST(SafetensorsHeader, WriterRejectsBadInput) {
  Tensor a = Tensor::zeros({4, 4}, DType::kF32);
  EXPECT_THROW(serialize_safetensors({{"a", a}, {"a", a}}), Error);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", a}}), Error);
  EXPECT_THROW(serialize_safetensors({{"a", a.slice(1, 0, 2)}}), Error);  // not contiguous
  EXPECT_THROW(serialize_safetensors({{"a", Tensor()}}), Error);
}

}  // namespace
}  // namespace turbolm
