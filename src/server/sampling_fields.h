// Request fields shared by the generating endpoints (sampling knobs, stop conditions, streaming flags).
#pragma once

#include "server/field_reader.h"
#include "server/protocol.h"

namespace turbolm::server {

struct SamplingDefaults {
  float temperature;
  float top_p;
  int top_k;
};
inline constexpr SamplingDefaults kOpenAiSamplingDefaults{0.7f, 1.0f, 40};  // LMDeploy's /v1/* defaults
inline constexpr SamplingDefaults kGenerateSamplingDefaults{1.0f, 1.0f, 0};

// temperature, top_p, top_k, min_p, repetition_penalty, seed, stop, stop_token_ids, ignore_eos,
// skip_special_tokens, spaces_between_special_tokens, min_new_tokens, include_stop_str_in_output.
// temperature 0 selects greedy decoding.
void read_sampling(const FieldReader& fields, SamplingDefaults defaults, GenerationConfig& gen);

// stream, stream_options (only with stream, as OpenAI insists), session_id.
void read_streaming(const FieldReader& fields, GenerationParams& params);

// max_completion_tokens wins over the older max_tokens.
std::optional<int> read_max_tokens(const FieldReader& fields);

// presence/frequency penalties and logit_bias have no engine support: accepted only at their neutral values.
void reject_unsupported_penalties(const FieldReader& fields);

}  // namespace turbolm::server
