#include "chat/chat_template_config.h"

#include "core/error.h"

namespace turbolm {
namespace {

ChatTemplateConfig chatml(std::optional<std::string> meta, std::vector<std::string> stops) {
  ChatTemplateConfig c;
  c.system = "<|im_start|>system\n";
  c.meta_instruction = std::move(meta);
  c.eosys = "<|im_end|>\n";
  c.user = "<|im_start|>user\n";
  c.eoh = "<|im_end|>\n";
  c.assistant = "<|im_start|>assistant\n";
  c.eoa = "<|im_end|>";
  c.separator = "\n";
  c.tool = "<|im_start|>tool\n";
  c.eotool = "<|im_end|>\n";
  c.stop_words = std::move(stops);
  return c;
}

const char kInternLM2Meta[] =
    "You are an AI assistant whose name is InternLM (书生·浦语).\n"
    "- InternLM (书生·浦语) is a conversational language model that is developed by Shanghai AI Laboratory "
    "(上海人工智能实验室). It is designed to be helpful, honest, and harmless.\n"
    "- InternLM (书生·浦语) can understand and communicate fluently in the language chosen by the user such as "
    "English and 中文.";
const char kInternVL25Meta[] =
    "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。";
const char kLlama2Meta[] =
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe. "
    "Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. "
    "Please ensure that your responses are socially unbiased and positive in nature.\n\n"
    "If a question does not make any sense, or is not factually coherent, explain why instead of answering "
    "something not correct. If you don't know the answer to a question, please don't share false information.";

std::optional<std::string> opt_string(const nlohmann::ordered_json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  TLM_CHECK_ARG(it->is_string()) << "ChatTemplateConfig: '" << key << "' must be a string";
  return it->get<std::string>();
}

// Text of a message's content: a string, or the text parts of a content list joined together.
std::string content_text(const nlohmann::ordered_json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
        out += part["text"].get<std::string>();
    }
  }
  return out;
}

}  // namespace

std::optional<ChatTemplateConfig> ChatTemplateConfig::builtin(std::string_view name) {
  ChatTemplateConfig c;
  if (name == "chatml") {
    c = chatml(std::nullopt, {"<|im_end|>"});
  } else if (name == "qwen") {
    c = chatml("You are a helpful assistant.", {"<|im_end|>"});
  } else if (name == "internlm2") {
    c = chatml(kInternLM2Meta, {"<|im_end|>", "<|action_end|>"});
    c.tool = "<|im_start|>environment\n";
  } else if (name == "internvl2_5") {
    c = chatml(kInternVL25Meta, {"<|im_end|>", "<|action_end|>"});
    c.tool = "<|im_start|>environment\n";
  } else if (name == "llama3") {
    c.system = "<|start_header_id|>system<|end_header_id|>\n\n";
    c.eosys = "<|eot_id|>";
    c.user = "<|start_header_id|>user<|end_header_id|>\n\n";
    c.eoh = "<|eot_id|>";
    c.assistant = "<|start_header_id|>assistant<|end_header_id|>\n\n";
    c.eoa = "<|eot_id|>";
    c.separator = "";
    c.tool = "<|start_header_id|>ipython<|end_header_id|>\n\n";
    c.eotool = "<|eot_id|>";
    c.stop_words = std::vector<std::string>{"<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"};
  } else if (name == "llama2") {
    // LMDeploy's Llama2: the user box is empty because "[INST] " comes from the system block or separator.
    c.system = "[INST] <<SYS>>\n";
    c.meta_instruction = kLlama2Meta;
    c.eosys = "\n<</SYS>>\n\n";
    c.user = "";
    c.eoh = "";
    c.assistant = " [/INST] ";
    c.eoa = "</s>";
    c.separator = "<s>[INST] ";
    c.stop_words = std::vector<std::string>{};
  } else {
    return std::nullopt;
  }
  c.model_name = std::string(name);
  c.capability = "chat";
  return c;
}

std::vector<std::string> ChatTemplateConfig::builtin_names() {
  return {"chatml", "qwen", "llama2", "llama3", "internlm2", "internvl2_5"};
}

ChatTemplateConfig ChatTemplateConfig::from_json(const nlohmann::ordered_json& j) {
  TLM_CHECK_ARG(j.is_object()) << "ChatTemplateConfig must be a JSON object";
  static const char* kKeys[] = {"model_name", "system", "meta_instruction", "eosys", "user",   "eoh",
                                "assistant",  "eoa",    "separator",        "tool",  "eotool", "capability",
                                "stop_words"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKeys) known = known || it.key() == k;
    TLM_CHECK_ARG(known) << "ChatTemplateConfig: unknown field '" << it.key() << "'";
  }
  ChatTemplateConfig c;
  c.model_name = opt_string(j, "model_name").value_or("");
  c.system = opt_string(j, "system");
  c.meta_instruction = opt_string(j, "meta_instruction");
  c.eosys = opt_string(j, "eosys");
  c.user = opt_string(j, "user");
  c.eoh = opt_string(j, "eoh");
  c.assistant = opt_string(j, "assistant");
  c.eoa = opt_string(j, "eoa");
  c.separator = opt_string(j, "separator");
  c.tool = opt_string(j, "tool");
  c.eotool = opt_string(j, "eotool");
  c.capability = opt_string(j, "capability");
  TLM_CHECK_ARG(!c.capability || *c.capability == "chat" || *c.capability == "completion")
      << "ChatTemplateConfig: capability must be \"chat\" or \"completion\"";
  if (auto it = j.find("stop_words"); it != j.end() && !it->is_null()) {
    TLM_CHECK_ARG(it->is_array()) << "ChatTemplateConfig: 'stop_words' must be a list of strings";
    std::vector<std::string> words;
    for (const auto& w : *it) {
      TLM_CHECK_ARG(w.is_string()) << "ChatTemplateConfig: 'stop_words' must be a list of strings";
      words.push_back(w.get<std::string>());
    }
    c.stop_words = std::move(words);
  }
  return c;
}

ChatTemplateConfig ChatTemplateConfig::resolved() const {
  ChatTemplateConfig base = builtin(model_name).value_or(ChatTemplateConfig{});
  ChatTemplateConfig r = *this;
  auto fill = [](std::optional<std::string>& field, const std::optional<std::string>& preset, const char* def) {
    if (!field) field = preset ? preset : std::optional<std::string>(def);
  };
  fill(r.system, base.system, "");
  // LMDeploy's BaseChatTemplate defaults meta_instruction to "" (so the system block is always emitted);
  // presets without a default system prompt keep it null, which skips the block.
  if (!r.meta_instruction)
    r.meta_instruction = base.model_name.empty() ? std::optional<std::string>("") : base.meta_instruction;
  fill(r.eosys, base.eosys, "");
  fill(r.user, base.user, "");
  fill(r.eoh, base.eoh, "");
  fill(r.assistant, base.assistant, "");
  fill(r.eoa, base.eoa, "");
  fill(r.separator, base.separator, "");
  fill(r.tool, base.tool, "");
  fill(r.eotool, base.eotool, "");
  fill(r.capability, base.capability, "chat");
  if (!r.stop_words) r.stop_words = base.stop_words.value_or(std::vector<std::string>{});
  return r;
}

std::string ChatTemplateConfig::render(const nlohmann::ordered_json& messages, bool add_generation_prompt) const {
  TLM_CHECK_ARG(messages.is_array()) << "messages must be a list";
  if (*capability == "completion") {
    // A completion model gets the text as is.
    std::string out;
    for (const auto& m : messages) out += content_text(m.value("content", nlohmann::ordered_json("")));
    return out;
  }
  const std::string eoa_sep = *eoa + *separator;
  std::string out;
  if (meta_instruction && !messages.empty() && messages[0].value("role", "") != "system")
    out += *system + *meta_instruction + *eosys;
  for (const auto& m : messages) {
    TLM_CHECK_ARG(m.is_object() && m.contains("role") && m["role"].is_string()) << "each message needs a role";
    const std::string role = m["role"].get<std::string>();
    std::string text = content_text(m.value("content", nlohmann::ordered_json("")));
    if (role == "system") {
      out += *system + text + *eosys;
    } else if (role == "user") {
      out += *user + text + *eoh;
    } else if (role == "assistant") {
      out += *assistant + text + eoa_sep;
    } else if (role == "tool") {
      out += *tool + text + *eotool;
    } else {
      TLM_FAIL(kInvalidArgument) << "chat template '" << model_name << "' does not support role '" << role << "'";
    }
  }
  // A trailing assistant message is a prefix the model continues: drop its end-of-answer marker.
  if (!messages.empty() && messages.back().value("role", "") == "assistant") {
    out.resize(out.size() - eoa_sep.size());
    return out;
  }
  if (add_generation_prompt) out += *assistant;
  return out;
}

}  // namespace turbolm
