// Compares encode/decode with reference ids made by Hugging Face tokenizers (tools/tokenizer_make_fixtures.py).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace turbolm {
namespace {

using nlohmann::json;

// Lines [first, first + count) of a shared text file, line endings kept (Python's splitlines(keepends=True)
// on these files splits at \n and \r\n only).
std::string shared_lines(const std::string& name, size_t first, size_t count) {
  const std::string all = test::read_file(test::shared_dir() / name);
  size_t pos = 0, line = 0, begin = std::string::npos;
  while (pos < all.size() && line < first + count) {
    if (line == first) begin = pos;
    const size_t nl = all.find('\n', pos);
    pos = nl == std::string::npos ? all.size() : nl + 1;
    ++line;
  }
  if (begin == std::string::npos) return {};
  return all.substr(begin, pos - begin);
}

std::string fnv1a(const std::vector<int32_t>& ids) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (int32_t id : ids)
    for (int i = 0; i < 4; ++i) h = (h ^ ((static_cast<uint32_t>(id) >> (8 * i)) & 0xFF)) * 0x100000001B3ULL;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

class FixtureTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fixture_ = json::parse(test::read_file(test::fixture_dir() / (GetParam() + ".json")));
    tok_ = Tokenizer::from_dir(test::shared_dir() / fixture_["folder"].get<std::string>());
  }
  std::string case_text(const json& c) {
    if (c.contains("text")) return c["text"].get<std::string>();
    return shared_lines(c["shared"].get<std::string>(), c["first_line"].get<size_t>(), c["lines"].get<size_t>());
  }
  json fixture_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_P(FixtureTest, EncodeMatchesHuggingFace) {
  int checked = 0;
  for (const auto& c : fixture_["cases"]) {
    const std::string text = case_text(c);
    const std::string label = c.dump().substr(0, 120);
    EXPECT_EQ(tok_->encode(text, false), c["ids"].get<std::vector<int32_t>>()) << label;
    EXPECT_EQ(tok_->encode(text, true), c["ids_special"].get<std::vector<int32_t>>()) << label;
    ++checked;
  }
  EXPECT_EQ(checked, 33);
}

TEST_P(FixtureTest, DecodeMatchesHuggingFace) {
  int checked = 0;
  for (const auto& c : fixture_["cases"]) {
    const auto ids = c["ids_special"].get<std::vector<int32_t>>();
    if (c.contains("decoded")) {
      EXPECT_EQ(tok_->decode(ids, false), c["decoded"].get<std::string>()) << c.dump().substr(0, 120);
      ++checked;
    }
    if (c.contains("decoded_skip")) {
      EXPECT_EQ(tok_->decode(ids, true), c["decoded_skip"].get<std::string>()) << c.dump().substr(0, 120);
      ++checked;
    }
  }
  EXPECT_GE(checked, 32);
}

TEST_P(FixtureTest, WholeFilesMatchHuggingFace) {
  for (const auto& w : fixture_["whole_files"]) {
    const auto ids = tok_->encode(test::read_file(test::shared_dir() / w["shared"].get<std::string>()), false);
    EXPECT_EQ(ids.size(), w["count"].get<size_t>()) << w["shared"];
    EXPECT_EQ(fnv1a(ids), w["fnv1a"].get<std::string>()) << w["shared"];
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, FixtureTest,
                         ::testing::Values("qwen3", "mistral", "stories260k", "gpt2", "llama2", "internlm2"));

TEST(TokenizerInfo, SpecialTokensFromConfig) {
  auto qwen = Tokenizer::from_dir(test::shared_dir() / "tokenizers/qwen3");
  EXPECT_EQ(qwen->eos_token(), "<|im_end|>");
  EXPECT_EQ(qwen->eos_id(), 151645);
  EXPECT_EQ(qwen->pad_id(), 151643);
  EXPECT_FALSE(qwen->bos_id().has_value());
  EXPECT_EQ(qwen->bos_token(), "");
  EXPECT_EQ(qwen->vocab_size(), 151669);
  EXPECT_TRUE(qwen->is_special(151644));
  EXPECT_EQ(qwen->token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(qwen->id_to_token(151644), "<|im_start|>");
  EXPECT_EQ(qwen->id_to_token(9707), "Hello");

  auto stories = Tokenizer::from_dir(test::shared_dir() / "models/stories260K-hf");
  EXPECT_EQ(stories->bos_id(), 1);
  EXPECT_EQ(stories->eos_id(), 2);
  EXPECT_EQ(stories->unk_id(), 0);
  EXPECT_EQ(stories->bos_token(), "<s>");
  EXPECT_EQ(stories->vocab_size(), 512);

  auto llama = Tokenizer::from_dir(test::shared_dir() / "tokenizers/llama2");
  EXPECT_EQ(llama->bos_id(), 1);
  EXPECT_EQ(llama->eos_token(), "</s>");
  EXPECT_EQ(llama->vocab_size(), 32000);
  EXPECT_EQ(llama->encode("Hello", true), (std::vector<int32_t>{1, 15043}));

  auto gpt2 = Tokenizer::from_dir(test::shared_dir() / "tokenizers/gpt2");
  EXPECT_EQ(gpt2->eos_id(), 50256);
  EXPECT_TRUE(gpt2->is_special(50256));
}

TEST(TokenizerInfo, InternLM2NulPieceIsUnused) {
  auto tok = Tokenizer::from_dir(test::shared_dir() / "tokenizers/internlm2");
  EXPECT_EQ(tok->vocab_size(), 92544);
  // sentencepiece >= 0.2 treats piece 354 ("\0") as unused, so a NUL byte goes through byte fallback (<0x00> = 3).
  const auto ids = tok->encode(std::string("a\0b", 3));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 354), 0);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 3), 1);
}

TEST(TokenizerLoad, MissingFolderNamesIt) {
  try {
    Tokenizer::from_dir("/nonexistent/model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model"), std::string::npos);
  }
}

// A folder for hand-written tokenizer files, removed with its contents at scope exit.
class ScratchFolder {
 public:
  explicit ScratchFolder(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchFolder() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& file, const std::string& text) const { std::ofstream(path_ / file) << text; }

 private:
  std::filesystem::path path_;
};

// Tokenizer::from_dir(model) must throw a turbolm::Error whose message contains `part`.
void expect_load_error(const std::filesystem::path& model, const std::string& part) {
  try {
    Tokenizer::from_dir(model);
    ADD_FAILURE() << "accepted " << model << "; expected an error containing '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// A vocab id that does not fit an int32 (or is negative) is refused: wrapped, it would shadow another token.
TEST(TokenizerLoad, VocabIdsOutsideInt32AreRefused) {
  const ScratchFolder dir("turbolm_vocab_ids");
  for (const std::string id : {"-3", "4294967298"}) {
    SCOPED_TRACE(id);
    dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": )" + id + R"(}, "merges": []}})");
    expect_load_error(dir.path(), "outside [0, 2^31)");
  }
}

// The same for added tokens (audit: id 4294967596 wrapped onto vocab id 300, and id -1 made its text vanish).
TEST(TokenizerLoad, AddedTokenIdsOutsideInt32AreRefused) {
  const ScratchFolder dir("turbolm_added_ids");
  for (const std::string id : {"-1", "4294967596"}) {
    SCOPED_TRACE(id);
    dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},)"
                                R"("added_tokens": [{"id": )" +
                                    id + R"(, "content": "<x>", "special": true}]})");
    expect_load_error(dir.path(), "added token '<x>' has id");
  }
}

// Nesting that would overflow the stack is refused while parsing, in tokenizer.json and tokenizer_config.json; a
// path that is a file, not a folder, is named as such.
TEST(TokenizerLoad, DeepNestingAndNonFolders) {
  const ScratchFolder dir("turbolm_deep_json");
  const std::string deep = R"({"x": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  dir.write("tokenizer.json", deep);
  expect_load_error(dir.path(), "nested deeper than 256 levels");
  dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})");
  dir.write("tokenizer_config.json", deep);
  expect_load_error(dir.path(), "nested deeper than 256 levels");
  expect_load_error(dir.path() / "tokenizer.json", "is not a folder");
}

}  // namespace
}  // namespace turbolm
