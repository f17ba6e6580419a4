// A deterministic stand-in for a model that really goes through the paged KV cache: each step writes the new
// tokens into their slots, and a row's logits are a hash of everything its block table says is cached. A wrong
// block table, a stale shared block or a lost preempted token changes the output.
#pragma once

#include <atomic>

#include "models/model.h"
#include "ops/random.h"

namespace turbolm::testing {

class FakeModel final : public Model {
 public:
  explicit FakeModel(int64_t vocab = 64, int64_t max_positions = 512) {
    config_.architecture = "FakeForCausalLM";
    config_.vocab_size = vocab;
    config_.max_position_embeddings = max_positions;
    config_.num_hidden_layers = 1;
    config_.num_key_value_heads = 1;
    config_.head_dim = 1;
    config_.dtype = DType::kF32;
  }
  const ModelConfig& config() const override { return config_; }
  KvCacheSpec kv_cache_spec(int64_t num_blocks, int64_t block_size, KvQuant) const override {
    KvCacheSpec spec;
    spec.num_layers = 1;
    spec.num_blocks = num_blocks;
    spec.block_size = block_size;
    spec.num_kv_heads = 1;
    spec.head_dim = 1;
    spec.dtype = DType::kF32;
    return spec;
  }
  size_t weight_bytes() const override { return 0; }
  bool supports_token_feedback() const override { return true; }
  Device device() const override { return Device::cpu(); }

  Tensor forward(const ExecContext&, const ForwardBatch& batch, KvCache& cache) override {
    float* slots = cache.key(0).data<float>();  // [num_blocks, block_size, 1, 1]: one value per token slot
    const int64_t bs = cache.spec().block_size;
    auto slot = [&](const ForwardBatch::Sequence& s, int32_t pos) {
      return s.block_table.at(pos / bs) * bs + pos % bs;
    };
    logits_ = Tensor::empty({batch.num_logit_rows(), config_.vocab_size}, DType::kF32);
    int64_t row = 0;
    for (const ForwardBatch::Sequence& s : batch.seqs) {
      for (int32_t i = 0; i < s.query_len; ++i) {
        int32_t id = batch.token_ids[s.query_start + i];
        if (id < 0) {  // a fed-back token (ops/sampling.h feedback_token)
          id = batch.feedback.data<int32_t>()[-id - 1];
          ++fed_back_tokens;
        }
        slots[slot(s, batch.positions[s.query_start + i])] = static_cast<float>(id);
      }
      if (!s.needs_logits) continue;
      // The last logit_rows positions (one, or a scoring chunk's): each row hashes the tokens up to its position.
      for (int32_t end = s.context_len - s.logit_rows + 1; end <= s.context_len; ++end) {
        uint64_t h = 0;
        for (int32_t p = 0; p < end; ++p) h = random_bits(h, static_cast<uint64_t>(slots[slot(s, p)]));
        float* out = logits_.data<float>() + row++ * config_.vocab_size;
        for (int64_t v = 0; v < config_.vocab_size; ++v) out[v] = 8.0f * random_uniform(h, static_cast<uint64_t>(v));
      }
    }
    ++steps;
    return logits_;
  }

  std::atomic<int> steps{0};
  std::atomic<int> fed_back_tokens{0};

 private:
  ModelConfig config_;
  Tensor logits_;
};

}  // namespace turbolm::testing
