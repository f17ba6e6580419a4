// llama.cpp's tokenizer test vectors (../shared/testvectors/tokenizer): texts and HF encode(add_special_tokens=False).
#include <gtest/gtest.h>

#include <sstream>

#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace turbolm {
namespace {

struct VectorCase {
  const char* vectors;
  const char* folder;
};

class TestVectors : public ::testing::TestWithParam<VectorCase> {};

TEST_P(TestVectors, MatchExpectedIds) {
  const auto dir = test::shared_dir() / "testvectors/tokenizer";
  const std::string inp = test::read_file(dir / (std::string(GetParam().vectors) + ".inp"));
  const std::string out = test::read_file(dir / (std::string(GetParam().vectors) + ".out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    size_t end = inp.find(sep, pos);
    if (end == std::string::npos) end = inp.size();
    texts.push_back(inp.substr(pos, end - pos));
    pos = end + sep.size();
  }
  std::vector<std::vector<int32_t>> expected;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<int32_t> ids;
    for (int32_t id; words >> id;) ids.push_back(id);
    expected.push_back(ids);
  }
  ASSERT_EQ(texts.size(), expected.size());
  auto tok = Tokenizer::from_dir(test::shared_dir() / GetParam().folder);
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(tok->encode(texts[i]), expected[i]) << "text #" << i << ": " << texts[i];
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, TestVectors,
                         ::testing::Values(VectorCase{"ggml-vocab-llama-spm.gguf", "tokenizers/llama2"},
                                           VectorCase{"ggml-vocab-phi-3.gguf", "tokenizers/llama2"},
                                           VectorCase{"ggml-vocab-qwen2.gguf", "tokenizers/qwen3"},
                                           VectorCase{"ggml-vocab-gpt-2.gguf", "tokenizers/gpt2"}),
                         [](const auto& info) {
                           std::string name = info.param.vectors;
                           for (char& c : name)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace turbolm
