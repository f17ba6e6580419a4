// One completion being generated: its tokens, how many of them have K/V in the cache, and its block table.
// The scheduler and block manager read and write these fields; the engine owns the object.
#pragma once

#include <cstdint>
#include <vector>

namespace turbolm {

struct RequestState;  // engine.cc: the request this sequence belongs to (sampling and output state)

enum class SequenceStatus { kWaiting, kRunning, kFinished };

struct Sequence {
  uint64_t id = 0;                 // unique, increasing in arrival order (FCFS)
  std::vector<int32_t> token_ids;  // prompt followed by the generated tokens
  int32_t num_prompt_tokens = 0;
  int32_t max_tokens = 0;  // hard cap on token_ids.size(): min(prompt + max_new_tokens, session_len, pool)
  // Tokens whose K/V are in the cache (computed or served by the prefix cache). The last token of a running
  // sequence is never cached before the step that feeds it, so num_computed_tokens < num_tokens() between steps.
  int32_t num_computed_tokens = 0;
  int32_t num_cached_prompt_tokens = 0;  // prompt tokens the prefix cache served at first admission (usage)
  // Scoring (Engine::submit_scoring): prompt tokens from this position on are scored by the prefill, each from the
  // logits of the position before it; nothing is generated. 0: the sequence generates.
  int32_t score_from = 0;
  std::vector<int32_t> block_table;    // logical block -> physical block
  std::vector<uint64_t> block_hashes;  // chained hash of each full, computed block (prefix caching)
  SequenceStatus status = SequenceStatus::kWaiting;
  bool admitted_once = false;  // usage counts the prefix-cache hit of the first admission only

  RequestState* request = nullptr;  // null in scheduler tests
  int index = 0;                    // which of the request's n completions

  int32_t num_tokens() const { return static_cast<int32_t>(token_ids.size()); }
  int32_t num_generated() const { return num_tokens() - num_prompt_tokens; }
  // Tokens the next step must feed to bring the cache up to date.
  int32_t num_uncomputed() const { return num_tokens() - num_computed_tokens; }
};

}  // namespace turbolm
