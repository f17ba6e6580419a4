// The 20 real templates in ../shared/templates render every conversation in
// tests/data/chat/conversations.json byte-identically to transformers (tests/data/chat/expected/).
#include "chat/chat_template.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "test_util.h"

namespace turbolm {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string template_stem;
  nlohmann::ordered_json conversation;
  nlohmann::ordered_json expected;
};

std::vector<Case> load_cases() {
  std::vector<Case> out;
  auto conversations = testing::read_json(testing::chat_data_dir() / "conversations.json");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(testing::shared_dir() / "templates"))
    if (entry.path().extension() == ".jinja") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto expected = testing::read_json(testing::chat_data_dir() / "expected" / (f.stem().string() + ".json"));
    for (const auto& conv : conversations)
      out.push_back({f.stem().string(), conv, expected[conv["name"].get<std::string>()]});
  }
  return out;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.template_stem << " x " << c.conversation["name"].get<std::string>();
}

class SharedTemplates : public ::testing::TestWithParam<Case> {};

TEST_P(SharedTemplates, MatchesTransformers) {
  const Case& c = GetParam();
  ChatTemplate tmpl =
      ChatTemplate::from_spec((testing::shared_dir() / "templates" / (c.template_stem + ".jinja")).string());
  tmpl.set_special_tokens("<s>", "</s>");
  tmpl.set_render_options(testing::fixed_clock_options());
  ChatTemplateInputs in;
  in.messages = c.conversation["messages"];
  in.tools = c.conversation.value("tools", nlohmann::ordered_json());
  in.documents = c.conversation.value("documents", nlohmann::ordered_json());
  in.add_generation_prompt = c.conversation.value("add_generation_prompt", false);
  in.continue_final_message = c.conversation.value("continue_final_message", false);
  in.extra = c.conversation.value("extra", nlohmann::ordered_json::object());
  if (c.expected.contains("output")) {
    EXPECT_EQ(tmpl.render(in), c.expected["output"].get<std::string>());
  } else {
    try {
      std::string out = tmpl.render(in);
      ADD_FAILURE() << "transformers fails with " << c.expected["type"] << ": " << c.expected["error"]
                    << "\nwe rendered:\n"
                    << out;
    } catch (const Error& e) {
      if (c.expected["type"] == "TemplateError") {
        EXPECT_EQ(std::string(e.what()), c.expected["error"].get<std::string>());
      }
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.template_stem + "__" + info.param.conversation["name"].get<std::string>();
  for (char& ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SharedTemplates, ::testing::ValuesIn(load_cases()), case_name);

TEST(ChatTemplate, EveryParsedTemplateHasExpectations) {
  // Guards against a shared template added without regenerating the fixtures.
  for (const auto& entry : fs::directory_iterator(testing::shared_dir() / "templates")) {
    if (entry.path().extension() != ".jinja") continue;
    EXPECT_TRUE(fs::exists(testing::chat_data_dir() / "expected" / (entry.path().stem().string() + ".json")))
        << entry.path() << ": run tools/chat_make_fixtures.py (see tests/data/chat/README.md)";
  }
}

class ModelDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("turbolm_chat_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  fs::path dir_;
};

ChatTemplateInputs hello() {
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  return in;
}

TEST_F(ModelDir, FolderWithoutTemplateIsNotFound) {
  write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  try {
    ChatTemplate::from_model_dir(dir_);
    FAIL() << "expected kNotFound";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("--chat-template"), std::string::npos) << e.what();
  }
}

// A "chat_template" of another type is a broken file, not a missing template (no silent fallback to a built-in).
TEST_F(ModelDir, TemplateOfAnotherTypeIsAnError) {
  write("tokenizer_config.json", R"({"chat_template": 5})");
  try {
    ChatTemplate::from_model_dir(dir_);
    FAIL() << "expected kInvalidArgument";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("must be a string or a list"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("got number"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, SharedStoriesModelHasNoTemplateAndFallsBack) {
  fs::path model = testing::shared_dir() / "models/stories260K-hf";
  ASSERT_TRUE(fs::exists(model)) << model;
  EXPECT_THROW(ChatTemplate::from_model_dir(model), Error);
  // The documented fallback: a built-in, with special tokens from the folder.
  ChatTemplate t = ChatTemplate::from_spec("chatml", model);
  EXPECT_EQ(t.render(hello()), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_F(ModelDir, StringTemplateAndSpecialTokens) {
  write("tokenizer_config.json",
        R"({"chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}",
            "bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>"})");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir_).render(hello()), "<B>[hi]<E>");
}

TEST_F(ModelDir, JinjaFileWinsOverTokenizerConfig) {
  write("tokenizer_config.json", R"({"chat_template": "config", "eos_token": "<E>"})");
  write("chat_template.jinja", "file{{ eos_token }}\n");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir_).render(hello()), "file<E>");
}

TEST_F(ModelDir, NamedTemplates) {
  write(
      "tokenizer_config.json",
      R"({"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T{{ tools|length }}"}]})");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir_).render(hello()), "D");
  ChatTemplateInputs in = hello();
  in.tools = nlohmann::ordered_json::array({1, 2});
  EXPECT_EQ(ChatTemplate::from_model_dir(dir_, "tool_use").render(in), "T2");
  EXPECT_THROW(ChatTemplate::from_model_dir(dir_, "missing"), Error);
}

TEST_F(ModelDir, ExtraKwargsAndGenerationPrompt) {
  write("chat_template.jinja",
        "{{ enable_thinking }}|{{ add_generation_prompt }}|{{ tools is none }}|{{ documents is defined }}");
  ChatTemplateInputs in = hello();
  in.extra = {{"enable_thinking", false}};
  EXPECT_EQ(ChatTemplate::from_model_dir(dir_).render(in), "False|True|True|True");
}

TEST(ChatTemplate, AcceptsPlainJsonInputs) {
  // Callers holding nlohmann::json (sorted keys) can assign it directly.
  nlohmann::json messages = nlohmann::json::parse(R"([{"role": "user", "content": "hi"}])");
  ChatTemplateInputs in;
  in.messages = messages;
  in.extra = nlohmann::json{{"enable_thinking", false}};
  ChatTemplate t = ChatTemplate::from_jinja("{{ messages[0].content }}{{ enable_thinking }}");
  EXPECT_EQ(t.render(in), "hiFalse");
}

TEST(ChatTemplate, ContinueFinalMessageWithContentParts) {
  ChatTemplate t = ChatTemplate::from_jinja(
      "{% for m in messages %}<{{ m.role }}>{% for p in m.content %}{{ p.text }}{% endfor %}</{{ m.role }}>{% endfor "
      "%}");
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(
      R"([{"role": "assistant", "content": [{"type": "text", "text": "Once"}, {"type": "image_url"}]}])");
  in.continue_final_message = true;
  in.add_generation_prompt = false;
  EXPECT_EQ(t.render(in), "<assistant>Once");
}

TEST(ChatTemplate, UnknownSpecIsInvalidArgument) {
  try {
    ChatTemplate::from_spec("no-such-template");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("chatml"), std::string::npos);
  }
}

TEST(ChatTemplate, RaiseExceptionMessagePropagates) {
  ChatTemplate t = ChatTemplate::from_jinja("{{ raise_exception('System role not supported') }}");
  try {
    t.render(hello());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "System role not supported");
  }
}

TEST(ChatTemplate, ParsedOnceRenderedConcurrently) {
  ChatTemplate t = ChatTemplate::from_spec((testing::shared_dir() / "templates/Qwen-Qwen3-0.6B.jinja").string());
  ChatTemplateInputs in = hello();
  const std::string expected = t.render(in);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 200; ++j) mismatches += t.render(in) != expected;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace turbolm
