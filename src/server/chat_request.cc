// POST /v1/chat/completions request parsing.
#include <fmt/format.h>

#include <optional>
#include <string>

#include "server/api_error.h"
#include "server/sampling_fields.h"

namespace turbolm::server {
namespace {

constexpr int kMaxChoices = 128;
constexpr int kMaxTopLogprobs = 20;

// Content parts are joined into one string: text-only models' chat templates expect string content.
nlohmann::json normalize_content(const nlohmann::json& content, const std::string& param) {
  if (content.is_null() || content.is_string()) return content;
  if (!content.is_array()) {
    throw ApiError::invalid_request(fmt::format("'{}' must be a string or a list of content parts", param), param);
  }
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    std::string part_param = fmt::format("{}[{}]", param, i);
    FieldReader part(content[i], part_param + ".");
    std::string type = part.string("type").value_or("");
    if (type == "text") {
      auto value = part.string("text");
      if (!value) part.invalid("text", "is required for a text part");
      if (!text.empty()) text += '\n';
      text += *value;
    } else if (type == "image_url" || type == "input_audio" || type == "file") {
      throw ApiError::invalid_request(
          fmt::format("'{}.type' {} is not supported: this model takes text only", part_param, type),
          part_param + ".type", "unsupported_content");
    } else {
      part.invalid("type", "must be \"text\"");
    }
  }
  return text;
}

// An assistant message's tool calls with their `function.arguments` as JSON objects: OpenAI clients send them back
// as JSON text, and chat templates print them with `tojson` (a string would come out quoted and escaped). LMDeploy
// and vLLM convert them the same way; text that is not JSON is a 400, JSON that is not an object stays text.
void parse_tool_call_arguments(nlohmann::ordered_json& message, const std::string& prefix) {
  auto calls = message.find("tool_calls");
  if (calls == message.end() || !calls->is_array()) return;
  for (size_t j = 0; j < calls->size(); ++j) {
    nlohmann::ordered_json& call = (*calls)[j];
    if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
    nlohmann::ordered_json& function = call["function"];
    auto arguments = function.find("arguments");
    if (arguments == function.end() || !arguments->is_string()) continue;
    nlohmann::ordered_json parsed =
        nlohmann::ordered_json::parse(arguments->get_ref<const std::string&>(), nullptr, /*allow_exceptions=*/false);
    const std::string param = fmt::format("{}tool_calls[{}].function.arguments", prefix, j);
    if (parsed.is_discarded()) throw ApiError::invalid_request(fmt::format("'{}' is not valid JSON", param), param);
    if (parsed.is_object()) *arguments = std::move(parsed);
  }
}

// `messages` is checked through FieldReader; the prompt is built from `ordered`, the same messages with the client's
// key order, which templates print (`tojson` of tool call arguments, of whole messages).
std::string normalize_messages(const nlohmann::json& messages, const nlohmann::ordered_json& ordered) {
  if (!messages.is_array()) {
    throw ApiError::invalid_request("'messages' must be a list of message objects or a string", "messages");
  }
  if (messages.empty()) throw ApiError::invalid_request("'messages' must not be empty", "messages");
  nlohmann::ordered_json normalized = nlohmann::ordered_json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    std::string prefix = fmt::format("messages[{}].", i);
    FieldReader message(messages[i], prefix);
    auto role = message.string("role");
    if (!role) message.invalid("role", "is required");
    if (*role != "system" && *role != "developer" && *role != "user" && *role != "assistant" && *role != "tool" &&
        *role != "function") {
      message.invalid("role", "must be one of system, developer, user, assistant, tool, function");
    }
    nlohmann::ordered_json copy = ordered[i];
    auto content = messages[i].find("content");
    if (content != messages[i].end()) {
      copy["content"] = nlohmann::ordered_json(normalize_content(*content, prefix + "content"));  // null or a string
    } else if (*role != "assistant") {
      message.invalid("content", "is required");
    }
    if (*role == "assistant") parse_tool_call_arguments(copy, prefix);
    normalized.push_back(std::move(copy));
  }
  return normalized.dump();
}

}  // namespace

ChatCompletionParams parse_chat_completion(std::string_view body) {
  nlohmann::json json = parse_json_object(body);
  // What reaches the chat template (messages, tools, template kwargs) keeps the client's key order: nlohmann::json
  // sorts keys, and templates print tools and arguments with `tojson` in the order they have. The body is already
  // known to be a valid, depth-limited JSON object.
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(body);
  FieldReader f(json);
  f.reject_unknown({"model", "messages", "temperature", "top_p", "n", "max_tokens", "max_completion_tokens", "stop",
                    "stream", "stream_options", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
                    "top_logprobs", "user", "seed", "tools", "tool_choice", "parallel_tool_calls", "response_format",
                    "store", "metadata", "service_tier", "reasoning_effort",
                    // LMDeploy / vLLM extensions
                    "do_preprocess", "repetition_penalty", "session_id", "ignore_eos", "skip_special_tokens",
                    "spaces_between_special_tokens", "top_k", "min_p", "min_new_tokens", "enable_thinking",
                    "chat_template_kwargs", "stop_token_ids", "include_stop_str_in_output", "add_generation_prompt"});

  ChatCompletionParams params;
  auto model = f.string("model");
  if (!model) f.invalid("model", "is required");
  params.common.model = *model;
  read_streaming(f, params.common);
  params.common.max_tokens = read_max_tokens(f);
  reject_unsupported_penalties(f);

  Request& request = params.request;
  GenerationConfig& gen = request.gen;
  read_sampling(f, kOpenAiSamplingDefaults, gen);
  gen.n = static_cast<int>(f.integer("n", 1, kMaxChoices).value_or(1));

  params.logprobs = f.boolean("logprobs").value_or(false);
  if (auto top = f.integer("top_logprobs", 0, kMaxTopLogprobs)) {
    if (!params.logprobs) f.invalid("top_logprobs", "requires 'logprobs' to be true");
    params.top_logprobs = static_cast<int>(*top);
  }
  // The engine reports the sampled token's logprob only alongside a top-N list, so ask for at least one.
  if (params.logprobs) gen.logprobs = std::max(1, params.top_logprobs);

  if (const nlohmann::json* format = f.get("response_format")) {
    FieldReader rf(*format, "response_format.");
    if (rf.string("type").value_or("text") != "text") rf.invalid("type", "is not supported: only \"text\" is");
  }
  // tool_choice as LMDeploy reads it: "none" offers no tools, "auto" and "required" all of them (nothing forces a
  // call: there is no guided decoding), {"type": "function", "function": {"name": N}} only tool N.
  bool tools_off = false;
  std::optional<std::string> named_tool;
  if (const nlohmann::json* choice = f.get("tool_choice")) {
    constexpr std::string_view kChoices =
        R"(must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}})";
    if (choice->is_string()) {
      tools_off = *choice == "none";
      if (!tools_off && *choice != "auto" && *choice != "required") f.invalid("tool_choice", kChoices);
    } else if (choice->is_object()) {
      FieldReader cf(*choice, "tool_choice.");
      if (cf.string("type").value_or("") != "function") cf.invalid("type", "must be \"function\"");
      const nlohmann::json* function = cf.get("function");
      if (function == nullptr || !function->is_object()) cf.invalid("function", "must be an object with a \"name\"");
      named_tool = FieldReader(*function, "tool_choice.function.").string("name");
      if (!named_tool) cf.invalid("function", "must be an object with a \"name\"");
    } else {
      f.invalid("tool_choice", kChoices);
    }
  }
  if (const nlohmann::json* tools = f.get("tools")) {
    if (!tools->is_array()) f.invalid("tools", "must be a list of tools");
    if (!named_tool) {
      if (!tools->empty() && !tools_off) request.tools_json = ordered["tools"].dump();
    } else {
      nlohmann::ordered_json offered = nlohmann::ordered_json::array();
      for (const auto& tool : ordered["tools"]) {
        const auto function = tool.find("function");
        if (function != tool.end() && function->is_object() && function->contains("name") &&
            (*function)["name"] == *named_tool)
          offered.push_back(tool);
      }
      if (offered.empty()) f.invalid("tool_choice", "names function '" + *named_tool + "', which is not among 'tools'");
      request.tools_json = offered.dump();
    }
  } else if (named_tool) {
    f.invalid("tool_choice", "names function '" + *named_tool + "', but the request offers no 'tools'");
  }

  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  if (const nlohmann::json* extra = f.get("chat_template_kwargs")) {
    if (!extra->is_object()) f.invalid("chat_template_kwargs", "must be an object");
    kwargs = ordered["chat_template_kwargs"];
  }
  if (auto thinking = f.boolean("enable_thinking")) kwargs["enable_thinking"] = *thinking;
  if (!kwargs.empty()) request.chat_template_kwargs_json = kwargs.dump();
  const auto thinking = kwargs.find(kwargs.contains("enable_thinking") ? "enable_thinking" : "thinking");
  params.thinking_off = thinking != kwargs.end() && *thinking == false;
  request.add_generation_prompt = f.boolean("add_generation_prompt").value_or(true);

  const nlohmann::json* messages = f.get("messages");
  if (!messages) f.invalid("messages", "is required");
  if (f.boolean("do_preprocess").value_or(true)) {
    // LMDeploy accepts a bare string as one user message.
    request.messages_json = messages->is_string()
                                ? nlohmann::json::array({{{"role", "user"}, {"content", *messages}}}).dump()
                                : normalize_messages(*messages, ordered["messages"]);
  } else {
    if (!messages->is_string()) f.invalid("messages", "must be a string when 'do_preprocess' is false");
    request.prompt = messages->get<std::string>();
    if (request.prompt.empty()) f.invalid("messages", "must not be empty");
  }
  return params;
}

}  // namespace turbolm::server
