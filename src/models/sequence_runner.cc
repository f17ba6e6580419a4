#include "models/sequence_runner.h"

#include <numeric>

#include "core/error.h"

namespace turbolm {

SequenceRunner::SequenceRunner(Model& model, int64_t max_tokens, KvQuant quant, int64_t block_size)
    : model_(model), capacity_(max_tokens) {
  const int64_t blocks = (max_tokens + block_size - 1) / block_size;
  cache_ = std::make_unique<KvCache>(model.kv_cache_spec(blocks, block_size, quant));
  block_table_.resize(blocks);
  std::iota(block_table_.begin(), block_table_.end(), 0);
}

Tensor SequenceRunner::feed(const ExecContext& ctx, const std::vector<int32_t>& tokens) {
  TLM_CHECK_ARG(!tokens.empty()) << "no tokens to run";
  TLM_CHECK_ARG(length_ + static_cast<int64_t>(tokens.size()) <= capacity_)
      << "sequence of " << length_ + static_cast<int64_t>(tokens.size()) << " tokens exceeds the reserved "
      << capacity_;
  ForwardBatch batch;
  batch.token_ids = tokens;
  ForwardBatch::Sequence seq;
  seq.query_start = 0;
  seq.query_len = static_cast<int32_t>(tokens.size());
  seq.context_len = static_cast<int32_t>(length_ + seq.query_len);
  const int64_t block_size = cache_->spec().block_size;
  seq.block_table.assign(block_table_.begin(), block_table_.begin() + (seq.context_len + block_size - 1) / block_size);
  for (int32_t i = 0; i < seq.query_len; ++i) batch.positions.push_back(static_cast<int32_t>(length_) + i);
  batch.seqs.push_back(std::move(seq));
  length_ += static_cast<int64_t>(tokens.size());
  return model_.forward(ctx, batch, *cache_);
}

}  // namespace turbolm
