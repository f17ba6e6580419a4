#include "chat/chat_template.h"

#include <fstream>
#include <sstream>

#include "chat/jinja/strings.h"
#include "core/error.h"
#include "io/json_file.h"

namespace turbolm {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

ojson read_json(const fs::path& path) { return parse_json_text<ojson>(read_regular_file(path), path.string()); }

// Special tokens in tokenizer_config.json are strings or serialized AddedToken objects {"content": ...}.
std::optional<std::string> token_string(const ojson& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

// The marker transformers appends to the final message to find where continuation starts.
constexpr std::string_view kContinueTag = "CONTINUE_FINAL_MESSAGE_TAG ";

// One message as the template sees it: transformers drops None-valued keys and copies the reasoning
// (reasoning_content / thinking / reasoning) to both "thinking" and "reasoning_content", as
// {"thinking": r, **message, "reasoning_content": r} -- so key positions match Python's dict order.
jinja::Dict message_dict(const ojson& m) {
  TLM_CHECK_ARG(m.is_object()) << "Chat messages should be dicts, but got " << m.dump();
  const ojson* reasoning = nullptr;
  for (const char* key : {"reasoning_content", "thinking", "reasoning"}) {
    auto it = m.find(key);
    if (it != m.end() && !it->is_null()) {
      reasoning = &*it;
      break;
    }
  }
  jinja::Dict d;
  d.items.reserve(m.size() + 2);
  if (reasoning) d.items.emplace_back("thinking", jinja::from_json(*reasoning));
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (it->is_null()) continue;
    if (reasoning && (it.key() == "thinking" || it.key() == "reasoning_content")) {
      d.set(it.key(), jinja::from_json(*reasoning));
    } else {
      d.items.emplace_back(it.key(), jinja::from_json(it.value()));
    }
  }
  if (reasoning) d.set("reasoning_content", jinja::from_json(*reasoning));
  return d;
}

// continue_final_message: append the tag to the final message's text (the last text part of a list);
// returns the original text.
std::string tag_final_message(jinja::Dict& message) {
  jinja::Value* content = message.find("content");
  TLM_CHECK_ARG(content) << "continue_final_message is set but the final message has no \"content\" to continue!";
  if (content->is_string()) {
    std::string text = content->as_string();
    *content = jinja::Value(text + std::string(kContinueTag));
    return text;
  }
  if (content->is_sequence()) {
    jinja::List parts = content->as_list();
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (!it->is_dict()) continue;
      jinja::Dict part = it->as_dict();
      jinja::Value* text = part.find("text");
      if (!text || !text->is_string()) continue;
      std::string original = text->as_string();
      *text = jinja::Value(original + std::string(kContinueTag));
      *it = jinja::Value::dict(std::move(part));
      *content = jinja::Value::list(std::move(parts));
      return original;
    }
  }
  TLM_FAIL(kInvalidArgument) << "continue_final_message is set but we could not find any text to continue in the "
                                "final message!";
}

}  // namespace

ChatTemplate ChatTemplate::from_jinja(std::string source) {
  ChatTemplate t;
  t.jinja_ = std::make_shared<const jinja::Template>(jinja::Template::parse(source));
  t.source_ = std::move(source);
  return t;
}

ChatTemplate ChatTemplate::from_config(const ChatTemplateConfig& config) {
  ChatTemplate t;
  t.config_ = config.resolved();
  return t;
}

ChatTemplate ChatTemplate::from_model_dir(const fs::path& dir, std::string_view name) {
  TLM_CHECK_ARG(fs::is_directory(dir)) << "model folder not found: " << dir.string();
  ojson config;
  if (fs::exists(dir / "tokenizer_config.json")) config = read_json(dir / "tokenizer_config.json");
  std::optional<std::string> source;
  std::vector<std::string> available;
  const ojson* templates = config.is_object() && config.contains("chat_template") ? &config["chat_template"] : nullptr;
  TLM_CHECK_ARG(!templates || templates->is_string() || templates->is_array() || templates->is_null())
      << (dir / "tokenizer_config.json").string()
      << ": \"chat_template\" must be a string or a list of {\"name\", \"template\"}, got " << templates->type_name();
  std::string wanted = name.empty() ? "default" : std::string(name);
  if (!name.empty()) {
    // Named templates: tokenizer_config.json's list, or additional_chat_templates/NAME.jinja (newer transformers).
    if (templates && templates->is_array()) {
      for (const auto& t : *templates) {
        if (t.value("name", "") == wanted) source = t.value("template", "");
        available.push_back(t.value("name", ""));
      }
    }
    if (!source && fs::exists(dir / "additional_chat_templates" / (wanted + ".jinja")))
      source = read_regular_file(dir / "additional_chat_templates" / (wanted + ".jinja"));
    if (!source && wanted == "default" && fs::exists(dir / "chat_template.jinja"))
      source = read_regular_file(dir / "chat_template.jinja");
    if (!source) {
      std::string names;
      for (const auto& n : available) names += (names.empty() ? "" : ", ") + n;
      TLM_FAIL(kNotFound) << "model folder " << dir.string() << " has no chat template named '" << wanted << "'"
                          << (names.empty() ? "" : " (available: " + names + ")");
    }
  } else if (fs::exists(dir / "chat_template.jinja")) {
    source = read_regular_file(dir / "chat_template.jinja");
  } else if (fs::exists(dir / "chat_template.json")) {
    ojson j = read_json(dir / "chat_template.json");
    if (j.is_object() && j.contains("chat_template") && j["chat_template"].is_string())
      source = j["chat_template"].get<std::string>();
  } else if (templates && templates->is_string()) {
    source = templates->get<std::string>();
  } else if (templates && templates->is_array()) {
    for (const auto& t : *templates) {
      if (t.value("name", "") == "default") source = t.value("template", "");
      available.push_back(t.value("name", ""));
    }
    if (!source) {
      std::string names;
      for (const auto& n : available) names += (names.empty() ? "" : ", ") + n;
      TLM_FAIL(kNotFound) << "model folder " << dir.string()
                          << " has named chat templates but none called 'default'; pick one of: " << names;
    }
  }
  if (!source) {
    std::string builtins;
    for (const auto& n : ChatTemplateConfig::builtin_names()) builtins += (builtins.empty() ? "" : ", ") + n;
    TLM_FAIL(kNotFound) << "model folder " << dir.string()
                        << " has no chat template (looked for chat_template.jinja, chat_template.json and "
                           "tokenizer_config.json \"chat_template\"); pass --chat-template with a built-in name ("
                        << builtins << "), a .jinja file or a ChatTemplateConfig .json file";
  }
  ChatTemplate t = from_jinja(std::move(*source));
  if (config.is_object()) {
    t.bos_ = token_string(config, "bos_token");
    t.eos_ = token_string(config, "eos_token");
  }
  return t;
}

ChatTemplate ChatTemplate::from_spec(std::string_view spec, const fs::path& model_dir_for_tokens) {
  fs::path path(spec);
  ChatTemplate t;
  auto ends_with = [&](std::string_view suffix) {
    return spec.size() >= suffix.size() && spec.substr(spec.size() - suffix.size()) == suffix;
  };
  if (ends_with(".jinja") || ends_with(".j2")) {
    TLM_CHECK_ARG(fs::exists(path)) << "chat template file not found: " << path.string();
    t = from_jinja(read_regular_file(path));
  } else if (ends_with(".json")) {
    TLM_CHECK_ARG(fs::exists(path)) << "chat template file not found: " << path.string();
    t = from_config(ChatTemplateConfig::from_json(read_json(path)));
  } else if (auto preset = ChatTemplateConfig::builtin(spec)) {
    t = from_config(*preset);
  } else if (fs::is_regular_file(path)) {
    t = from_jinja(read_regular_file(path));  // any other existing file is a Jinja template (e.g. template.txt)
  } else {
    std::string builtins;
    for (const auto& n : ChatTemplateConfig::builtin_names()) builtins += (builtins.empty() ? "" : ", ") + n;
    TLM_FAIL(kInvalidArgument) << "unknown chat template '" << spec << "': expected a built-in name (" << builtins
                               << "), a .jinja file or a .json ChatTemplateConfig";
  }
  if (!model_dir_for_tokens.empty() && fs::exists(model_dir_for_tokens / "tokenizer_config.json")) {
    ojson config = read_json(model_dir_for_tokens / "tokenizer_config.json");
    t.bos_ = token_string(config, "bos_token");
    t.eos_ = token_string(config, "eos_token");
  }
  return t;
}

void ChatTemplate::set_special_tokens(std::string bos, std::string eos) {
  bos_ = std::move(bos);
  eos_ = std::move(eos);
}

std::vector<std::string> ChatTemplate::stop_words() const {
  return config_ ? config_->stop_words.value_or(std::vector<std::string>{}) : std::vector<std::string>{};
}

std::string ChatTemplate::render(const ChatTemplateInputs& in) const {
  if (config_) return config_->render(in.messages, in.add_generation_prompt);
  TLM_CHECK(jinja_) << "empty ChatTemplate";
  // The context is built directly as template values (no intermediate JSON copy): this is the hot path.
  TLM_CHECK_ARG(in.messages.is_array()) << "messages must be a list";
  std::vector<jinja::Dict> messages;
  messages.reserve(in.messages.size());
  for (const auto& m : in.messages) messages.push_back(message_dict(m));
  std::string final_text;
  if (in.continue_final_message) {
    TLM_CHECK_ARG(!messages.empty()) << "continue_final_message is set but the conversation is empty!";
    TLM_CHECK_ARG(source_.find("content") != std::string::npos)
        << "continue_final_message is set to \"content\" but this is not an accepted field in the chat_template";
    final_text = tag_final_message(messages.back());
  }
  jinja::List message_values;
  message_values.reserve(messages.size());
  for (auto& m : messages) message_values.push_back(jinja::Value::dict(std::move(m)));

  jinja::Dict context;
  context.items.reserve(8);
  context.set("messages", jinja::Value::list(std::move(message_values)));
  context.set("tools", jinja::from_json(in.tools));
  context.set("documents", jinja::from_json(in.documents));
  context.set("add_generation_prompt", jinja::Value(in.add_generation_prompt));
  if (bos_) context.set("bos_token", jinja::Value(*bos_));
  if (eos_) context.set("eos_token", jinja::Value(*eos_));
  if (in.extra.is_object()) {
    for (auto it = in.extra.begin(); it != in.extra.end(); ++it) context.set(it.key(), jinja::from_json(it.value()));
  }
  std::string rendered = jinja_->render(context, options_);

  if (in.continue_final_message) {
    // transformers' str.strip() / rstrip(): Python's whitespace, Unicode spaces included.
    auto strip = [](std::string_view s) { return jinja::py_strip(s, std::nullopt, true, true); };
    const std::string tag = strip(kContinueTag);
    TLM_CHECK_ARG(rendered.find(strip(final_text)) != std::string::npos && rendered.find(tag) != std::string::npos)
        << "continue_final_message is set but the final message does not appear in the chat after applying the "
           "chat template";
    size_t at = rendered.rfind(tag);
    if (rendered.compare(at, kContinueTag.size(), kContinueTag) == 0) {
      rendered.resize(at);
    } else {
      rendered = jinja::py_strip(std::string_view(rendered).substr(0, at), std::nullopt, false, true);
    }
  }
  return rendered;
}

}  // namespace turbolm
