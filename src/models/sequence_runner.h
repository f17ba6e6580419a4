// Drives a Model for one sequence without the engine: contiguous blocks, whole-prompt prefill, then one token
// per step. Used by `turbolm bench latency` (llama-bench style numbers) and by model-level tests.
#pragma once

#include <memory>
#include <vector>

#include "models/model.h"

namespace turbolm {

class SequenceRunner {
 public:
  // Reserves KV for max_tokens tokens (prompt + generated).
  SequenceRunner(Model& model, int64_t max_tokens, KvQuant quant = KvQuant::kNone, int64_t block_size = 64);

  // Appends tokens and runs them in one step; returns the logits of the last one ([1, vocab] f32, model device).
  Tensor feed(const ExecContext& ctx, const std::vector<int32_t>& tokens);
  int64_t length() const { return length_; }
  void reset() { length_ = 0; }

 private:
  Model& model_;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> block_table_;
  int64_t capacity_;
  int64_t length_ = 0;
};

}  // namespace turbolm
