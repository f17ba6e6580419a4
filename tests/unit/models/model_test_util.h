// Helpers that drive a Model directly (no engine): paged KV with a trivial block table, greedy decoding.
#pragma once

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "models/model.h"

namespace turbolm::testing_util {

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

inline int32_t argmax_row(const Tensor& logits, int64_t row) {
  const float* p = logits.data<float>() + row * logits.dim(1);
  return static_cast<int32_t>(std::max_element(p, p + logits.dim(1)) - p);
}

// A single sequence owning blocks [first_block, first_block + n) of the cache.
struct SingleSequence {
  std::vector<int32_t> tokens;
  std::vector<int32_t> block_table;
  int32_t cached = 0;
};

// One forward step over several sequences, each contributing all its not-yet-cached tokens.
inline Tensor step(Model& model, KvCache& cache, std::vector<SingleSequence*> seqs) {
  ForwardBatch batch;
  for (SingleSequence* s : seqs) {
    ForwardBatch::Sequence fs;
    fs.query_start = static_cast<int32_t>(batch.token_ids.size());
    fs.query_len = static_cast<int32_t>(s->tokens.size()) - s->cached;
    fs.context_len = static_cast<int32_t>(s->tokens.size());
    fs.block_table = s->block_table;
    for (int32_t p = s->cached; p < fs.context_len; ++p) {
      batch.token_ids.push_back(s->tokens[p]);
      batch.positions.push_back(p);
    }
    s->cached = fs.context_len;
    batch.seqs.push_back(fs);
  }
  ExecContext ctx;
  return model.forward(ctx, batch, cache);
}

inline std::vector<int32_t> greedy(Model& model, const std::vector<int32_t>& prompt, int new_tokens,
                                   int64_t block_size = 16) {
  const int64_t blocks = (static_cast<int64_t>(prompt.size()) + new_tokens + block_size - 1) / block_size;
  KvCache cache(model.kv_cache_spec(blocks, block_size, KvQuant::kNone));
  SingleSequence seq{prompt, {}, 0};
  seq.block_table.resize(blocks);
  // Reverse order: the model must follow the block table, not assume contiguous blocks.
  std::iota(seq.block_table.rbegin(), seq.block_table.rend(), 0);
  std::vector<int32_t> out;
  for (int i = 0; i < new_tokens; ++i) {
    Tensor logits = step(model, cache, {&seq});
    out.push_back(argmax_row(logits, 0));
    seq.tokens.push_back(out.back());
  }
  return out;
}

}  // namespace turbolm::testing_util
