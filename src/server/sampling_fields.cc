#include "server/sampling_fields.h"

#include <limits>

#include "server/api_error.h"

namespace turbolm::server {
namespace {
constexpr int64_t kMaxTokensLimit = 1 << 30;
constexpr size_t kMaxStopWords = 64;
}  // namespace

void read_sampling(const FieldReader& f, SamplingDefaults defaults, GenerationConfig& gen) {
  float temperature = static_cast<float>(f.number("temperature", 0.0, 2.0).value_or(defaults.temperature));
  gen.do_sample = temperature > 0.0f;
  if (gen.do_sample) gen.temperature = temperature;
  gen.top_p = static_cast<float>(f.number("top_p", 0.0, 1.0).value_or(defaults.top_p));
  if (gen.top_p <= 0.0f) f.invalid("top_p", "must be greater than 0");
  // LMDeploy uses 0 and vLLM -1 for "no top-k"; both mean off here.
  int64_t top_k = f.integer("top_k", -1, std::numeric_limits<int32_t>::max()).value_or(defaults.top_k);
  gen.top_k = top_k < 0 ? 0 : static_cast<int>(top_k);
  gen.min_p = static_cast<float>(f.number("min_p", 0.0, 1.0).value_or(0.0));
  gen.repetition_penalty = static_cast<float>(f.number("repetition_penalty", 0.0, 100.0).value_or(1.0));
  if (gen.repetition_penalty <= 0.0f) f.invalid("repetition_penalty", "must be greater than 0");
  if (auto seed = f.integer("seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max())) {
    gen.random_seed = static_cast<uint64_t>(*seed);
  }
  gen.stop_words = f.string_or_list("stop", kMaxStopWords);
  gen.stop_token_ids = f.token_ids("stop_token_ids");
  gen.ignore_eos = f.boolean("ignore_eos").value_or(false);
  gen.skip_special_tokens = f.boolean("skip_special_tokens").value_or(true);
  gen.spaces_between_special_tokens = f.boolean("spaces_between_special_tokens").value_or(true);
  gen.min_new_tokens = static_cast<int>(f.integer("min_new_tokens", 0, kMaxTokensLimit).value_or(0));
  gen.include_stop_str_in_output = f.boolean("include_stop_str_in_output").value_or(false);
}

void read_streaming(const FieldReader& f, GenerationParams& params) {
  params.stream = f.boolean("stream").value_or(false);
  if (const nlohmann::json* options = f.get("stream_options")) {
    if (!params.stream) f.invalid("stream_options", "is only allowed when 'stream' is true");
    FieldReader opts(*options, "stream_options.");
    opts.reject_unknown({"include_usage", "continuous_usage_stats"});
    params.include_usage = opts.boolean("include_usage").value_or(false);
  }
  if (auto id = f.integer("session_id", -1, std::numeric_limits<int64_t>::max()); id && *id >= 0) {
    params.session_id = *id;
  }
}

std::optional<int> read_max_tokens(const FieldReader& f) {
  if (auto v = f.integer("max_completion_tokens", 1, kMaxTokensLimit)) return static_cast<int>(*v);
  if (auto v = f.integer("max_tokens", 1, kMaxTokensLimit)) return static_cast<int>(*v);
  return std::nullopt;
}

void reject_unsupported_penalties(const FieldReader& f) {
  for (const char* key : {"presence_penalty", "frequency_penalty"}) {
    if (f.number(key, -2.0, 2.0).value_or(0.0) != 0.0) {
      f.invalid(key, "is not supported by this server; use 'repetition_penalty' instead");
    }
  }
  if (const nlohmann::json* bias = f.get("logit_bias")) {
    if (!bias->is_object()) f.invalid("logit_bias", "must be an object");
    if (!bias->empty()) f.invalid("logit_bias", "is not supported by this server");
  }
}

}  // namespace turbolm::server
