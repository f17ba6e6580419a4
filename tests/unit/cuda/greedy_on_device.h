// Drives a Model on its own device the way the engine does (forward + sample, only ids back to the host):
// prefill one sequence over a reversed block table, then greedy decoding. For the whole-model CUDA tests.
#pragma once

#include <numeric>
#include <span>
#include <vector>

#include "models/model.h"
#include "ops/sampling.h"

namespace turbolm::cuda_test {

inline std::vector<int32_t> greedy_on_device(Model& model, const std::vector<int32_t>& prompt, int steps) {
  ExecContext ctx;
  ctx.device = model.device();
  const int64_t block = 16, blocks = (static_cast<int64_t>(prompt.size()) + steps + block - 1) / block;
  KvCache cache(model.kv_cache_spec(blocks + 1, block, KvQuant::kNone));
  std::vector<int32_t> table(blocks);
  std::iota(table.rbegin(), table.rend(), 1);  // not the identity mapping
  ForwardBatch batch;
  batch.token_ids = prompt;
  batch.positions.resize(prompt.size());
  std::iota(batch.positions.begin(), batch.positions.end(), 0);
  const int32_t n = static_cast<int32_t>(prompt.size());
  batch.seqs.push_back({0, n, n, table, true});
  std::vector<int32_t> out;
  const SamplingParams params;  // greedy
  const std::span<const int32_t> no_penalty;
  for (int i = 0; i < steps; ++i) {
    Tensor logits = model.forward(ctx, batch, cache);
    out.push_back(sample(ctx, logits, std::span(&params, 1), std::span(&no_penalty, 1))[0].token);
    const int32_t context = batch.seqs[0].context_len;
    batch.token_ids = {out.back()};
    batch.positions = {context};
    batch.seqs[0] = {0, 1, context + 1, table, true};
  }
  return out;
}

}  // namespace turbolm::cuda_test
