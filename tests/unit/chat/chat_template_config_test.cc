// LMDeploy ChatTemplateConfig semantics: built-ins, JSON files, stop words.
#include "chat/chat_template_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "chat/chat_template.h"
#include "core/error.h"

namespace turbolm {
namespace {

using ojson = nlohmann::ordered_json;

ChatTemplateInputs conversation(const char* json, bool add_generation_prompt = true) {
  ChatTemplateInputs in;
  in.messages = ojson::parse(json);
  in.add_generation_prompt = add_generation_prompt;
  return in;
}

TEST(ChatTemplateConfig, ChatmlBuiltin) {
  ChatTemplate t = ChatTemplate::from_spec("chatml");
  EXPECT_EQ(t.render(conversation(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                                       {"role": "assistant", "content": "A"}, {"role": "user", "content": "V"}])")),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"
            "<|im_start|>user\nV<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(t.stop_words(), std::vector<std::string>{"<|im_end|>"});
}

TEST(ChatTemplateConfig, DefaultSystemPromptWhenNoneGiven) {
  ChatTemplate t = ChatTemplate::from_spec("internvl2_5");
  std::string out = t.render(conversation(R"([{"role": "user", "content": "hi"}])"));
  EXPECT_EQ(out.rfind("<|im_start|>system\n你是书生·万象", 0), 0u) << out;
  const std::string tail = "。<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
  ASSERT_GE(out.size(), tail.size());
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
  EXPECT_EQ(t.stop_words(), (std::vector<std::string>{"<|im_end|>", "<|action_end|>"}));
}

TEST(ChatTemplateConfig, TrailingAssistantIsAPrefix) {
  ChatTemplate t = ChatTemplate::from_spec("chatml");
  EXPECT_EQ(t.render(conversation(R"([{"role": "user", "content": "U"}, {"role": "assistant", "content": "Par"}])")),
            "<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nPar");
}

TEST(ChatTemplateConfig, ContentPartsContributeText) {
  ChatTemplate t = ChatTemplate::from_spec("chatml");
  EXPECT_EQ(t.render(conversation(R"([{"role": "user", "content": [{"type": "text", "text": "a"},
      {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "b"}]}])",
                                  false)),
            "<|im_start|>user\nab<|im_end|>\n");
}

TEST(ChatTemplateConfig, Llama2) {
  ChatTemplate t = ChatTemplate::from_spec("llama2");
  EXPECT_EQ(t.render(conversation(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                                       {"role": "assistant", "content": "A"}, {"role": "user", "content": "V"}])")),
            "[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A</s><s>[INST] V [/INST] ");
}

TEST(ChatTemplateConfig, JsonFileWithModelNameOverride) {
  auto path = std::filesystem::temp_directory_path() / ("turbolm_cfg_" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << R"({"model_name": "internlm2", "meta_instruction": "Be brief.", "stop_words": ["<x>"]})";
  ChatTemplate t = ChatTemplate::from_spec(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(t.render(conversation(R"([{"role": "user", "content": "hi"}])")),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(t.stop_words(), std::vector<std::string>{"<x>"});
}

TEST(ChatTemplateConfig, CustomConfigUsesBaseDefaults) {
  ChatTemplateConfig c = ChatTemplateConfig::from_json(ojson::parse(
      R"({"model_name": "custom", "user": "U:", "eoh": "\n", "assistant": "A:", "eoa": "\n", "capability": "chat"})"));
  ChatTemplate t = ChatTemplate::from_config(c);
  EXPECT_EQ(t.render(conversation(R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                                       {"role": "user", "content": "q"}])")),
            "U:hi\nA:yo\nU:q\nA:");
  EXPECT_TRUE(t.stop_words().empty());
}

TEST(ChatTemplateConfig, RejectsUnknownFieldsAndRoles) {
  EXPECT_THROW(ChatTemplateConfig::from_json(ojson::parse(R"({"model_name": "x", "sytem": "typo"})")), Error);
  ChatTemplate t = ChatTemplate::from_spec("chatml");
  EXPECT_THROW(t.render(conversation(R"([{"role": "narrator", "content": "x"}])")), Error);
}

}  // namespace
}  // namespace turbolm
