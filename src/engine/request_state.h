// Engine-thread state of one request: its completions (sequences) and what each has streamed so far.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/sequence.h"
#include "engine/stop_strings.h"
#include "ops/sampling.h"
#include "tokenizer/tokenizer.h"
#include "turbolm/engine.h"

namespace turbolm {

struct Completion {
  Sequence seq;
  SamplingParams sampling;  // seed fixed per completion; step = seq.num_generated() at each draw
  std::unique_ptr<IncrementalDetokenizer> detokenizer;  // null without a tokenizer or when scoring
  StopStringMatcher stop_strings;
  GenerationOutput chunk;  // what this step adds; sent and reset after every step
  bool finished = false;
  // Scoring: the next prompt position whose logprob is still to be reported (a preempted sequence recomputes its
  // chunks; positions it reported before are not reported again).
  int32_t next_scored = 0;
};

struct RequestState {
  uint64_t id = 0;
  GenerationConfig gen;
  std::vector<int32_t> prompt_ids;
  int32_t max_tokens = 0;             // per sequence: min(prompt + max_new_tokens, session_len, pool tokens)
  std::vector<int32_t> stop_ids;      // model EOS (unless ignore_eos) + stop_token_ids + special stop words
  std::vector<int32_t> eos_like_ids;  // ids masked until min_new_tokens: EOS and stop_token_ids
  std::vector<std::string> stop_strings;
  uint64_t seed = 0;
  // Scoring (Engine::submit_scoring): the prompt's tokens from score_from on are reported with their logprobs,
  // computed by the prefill; nothing is sampled. 0: a generation request.
  int32_t score_from = 0;
  OutputCallback on_output;
  std::vector<std::unique_ptr<Completion>> completions;  // [0, n); siblings are forked after 0's prefill
  int num_finished = 0;

  bool scoring() const { return score_from > 0; }
  bool done() const { return num_finished == gen.n; }
};

}  // namespace turbolm
