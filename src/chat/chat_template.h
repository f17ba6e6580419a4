// Chat-template selection and rendering: a Hugging Face Jinja template (from the model folder or a
// .jinja file) rendered exactly like transformers' apply_chat_template, or an LMDeploy
// ChatTemplateConfig (built-in name or .json file).
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat_template_config.h"
#include "chat/jinja/template.h"

namespace turbolm {

// JSON values are ordered_json: key order reaches the prompt (tojson of tools), and Python keeps
// insertion order. nlohmann::json values convert implicitly (with their keys sorted).
struct ChatTemplateInputs {
  nlohmann::ordered_json messages;   // [{role, content (string or parts [{type:text,text}|{type:image_url,...}]), ...}]
  nlohmann::ordered_json tools;      // null or array
  nlohmann::ordered_json documents;  // null or array
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  nlohmann::ordered_json extra;  // extra template variables, e.g. {"enable_thinking": false}; may override bos_token
};

class ChatTemplate {
 public:
  // HF template from the model folder: chat_template.jinja, chat_template.json, or tokenizer_config.json
  // "chat_template" (a string, or a list of {name, template}: `name` if given, else "default"), with
  // bos/eos token strings from tokenizer_config.json. kNotFound when the folder has no template.
  static ChatTemplate from_model_dir(const std::filesystem::path& dir, std::string_view name = "");
  // --chat-template VALUE: a built-in name, a FILE.jinja, or a FILE.json holding an LMDeploy ChatTemplateConfig.
  // bos/eos come from model_dir_for_tokens/tokenizer_config.json when given.
  static ChatTemplate from_spec(std::string_view spec, const std::filesystem::path& model_dir_for_tokens = {});
  static ChatTemplate from_jinja(std::string source);
  static ChatTemplate from_config(const ChatTemplateConfig& config);

  std::string render(const ChatTemplateInputs& in) const;  // parsed once; thread-safe
  std::vector<std::string> stop_words() const;             // from a ChatTemplateConfig (empty for Jinja templates)
  void set_special_tokens(std::string bos, std::string eos);
  // Render options for Jinja templates (limits; a fixed strftime_now clock for reproducible output).
  void set_render_options(const jinja::RenderOptions& options) { options_ = options; }

  bool is_jinja() const { return jinja_ != nullptr; }
  const std::string& source() const { return source_; }  // Jinja source (empty for configs)

 private:
  std::shared_ptr<const jinja::Template> jinja_;
  std::string source_;
  std::optional<ChatTemplateConfig> config_;  // resolved
  std::optional<std::string> bos_, eos_;
  jinja::RenderOptions options_;
};

}  // namespace turbolm
