// LMDeploy-style chat templates: a prompt described by a few strings (ChatTemplateConfig) instead of
// Jinja, for models that ship no template and for users who pass `--chat-template file.json`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace turbolm {

struct ChatTemplateConfig {
  std::string model_name;
  // A null field takes the value of the built-in named model_name, or LMDeploy's BaseChatTemplate default.
  std::optional<std::string> system, meta_instruction, eosys, user, eoh, assistant, eoa, separator, tool, eotool;
  std::optional<std::string> capability;  // "chat" (default) or "completion"
  std::optional<std::vector<std::string>> stop_words;

  // Parses LMDeploy's JSON; unknown keys are an error so typos do not pass silently.
  static ChatTemplateConfig from_json(const nlohmann::ordered_json& j);
  // Built-in presets (chatml, qwen, llama2, llama3, internlm2, internvl2_5); nullopt when unknown.
  static std::optional<ChatTemplateConfig> builtin(std::string_view name);
  static std::vector<std::string> builtin_names();

  // Fills unset fields from the built-in named model_name (if any) and then BaseChatTemplate's defaults.
  ChatTemplateConfig resolved() const;

  // LMDeploy's BaseChatTemplate.messages2prompt over OpenAI-style messages (text parts are joined;
  // other parts contribute no text here). Call on a resolved() config.
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt) const;
};

}  // namespace turbolm
