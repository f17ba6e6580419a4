// LMDeploy's own endpoints: /v1/encode, /generate, /abort_request, /get_ppl.
#include <limits>

#include "server/api_error.h"
#include "server/sampling_fields.h"

namespace turbolm::server {

EncodeParams parse_encode(std::string_view body) {
  nlohmann::json json = parse_json_object(body);
  FieldReader f(json);
  f.reject_unknown({"input", "do_preprocess", "add_bos", "model"});
  EncodeParams params;
  params.do_preprocess = f.boolean("do_preprocess").value_or(false);
  params.add_bos = f.boolean("add_bos").value_or(true);
  const nlohmann::json* input = f.get("input");
  if (!input) f.invalid("input", "is required");
  if (input->is_string()) {
    params.inputs.push_back(input->get<std::string>());
  } else if (input->is_array()) {
    params.batched = true;
    for (const auto& item : *input) {
      if (!item.is_string()) f.invalid("input", "must be a string or a list of strings");
      params.inputs.push_back(item.get<std::string>());
    }
  } else {
    f.invalid("input", "must be a string or a list of strings");
  }
  return params;
}

GenerateParams parse_generate(std::string_view body) {
  nlohmann::json json = parse_json_object(body);
  FieldReader f(json);
  f.reject_unknown({"session_id",
                    "prompt",
                    "input_ids",
                    "image_data",
                    "return_logprob",
                    "max_tokens",
                    "stop",
                    "stop_token_ids",
                    "stream",
                    "temperature",
                    "repetition_penalty",
                    "ignore_eos",
                    "top_p",
                    "top_k",
                    "min_p",
                    "seed",
                    "min_new_tokens",
                    "skip_special_tokens",
                    "spaces_between_special_tokens",
                    "include_stop_str_in_output",
                    "model"});
  GenerateParams params;
  read_streaming(f, params.common);
  params.common.max_tokens = static_cast<int>(f.integer("max_tokens", 1, 1 << 30).value_or(128));
  params.return_logprob = f.boolean("return_logprob").value_or(false);
  if (f.get("image_data")) f.invalid("image_data", "is not supported: this model takes text only");

  Request& request = params.request;
  read_sampling(f, kGenerateSamplingDefaults, request.gen);
  if (params.return_logprob) request.gen.logprobs = 1;
  auto prompt = f.string("prompt");
  std::vector<int32_t> ids = f.token_ids("input_ids");
  if (prompt.has_value() == (f.get("input_ids") != nullptr)) {
    f.invalid("prompt", "or 'input_ids' is required (exactly one of them)");
  }
  if (prompt) {
    if (prompt->empty()) f.invalid("prompt", "must not be empty");
    request.prompt = std::move(*prompt);
  } else {
    if (ids.empty()) f.invalid("input_ids", "must not be empty");
    request.prompt_ids = std::move(ids);
  }
  return params;
}

AbortParams parse_abort(std::string_view body) {
  AbortParams params;
  nlohmann::json json = parse_json_object(body);
  FieldReader f(json);
  f.reject_unknown({"abort_all", "session_id", "finished_reason", "abort_message"});
  params.abort_all = f.boolean("abort_all").value_or(false);
  if (auto id = f.integer("session_id", -1, std::numeric_limits<int64_t>::max()); id && *id >= 0) {
    params.session_id = *id;
  }
  if (!params.abort_all && !params.session_id) f.invalid("session_id", "is required unless 'abort_all' is true");
  return params;
}

PplParams parse_get_ppl(std::string_view body) {
  nlohmann::json json = parse_json_object(body);
  FieldReader f(json);
  f.reject_unknown({"input", "model"});
  const nlohmann::json* input = f.get("input");
  if (!input) f.invalid("input", "is required");
  PplParams params;
  if (input->is_string()) {
    params.text = input->get<std::string>();
  } else if (input->is_array()) {
    params.ids = read_token_ids(*input, "input");
  } else {
    f.invalid("input", "must be a string or a list of token ids");
  }
  return params;
}

}  // namespace turbolm::server
