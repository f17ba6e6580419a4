#include "models/decoder_model.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/error.h"
#include "ops/elementwise.h"
#include "ops/fused_linear.h"
#include "ops/norm.h"
#include "ops/qkv_rope_kv_write.h"
#include "ops/sampling.h"
#include "parallel/communicator.h"

namespace turbolm {
namespace {

// Scratch slots (each a reusable buffer of the step's size).
enum Slot : int {
  kResidual,    // [T, H]
  kNormed,      // [T, H]
  kDelta,       // [T, H]
  kQkv,         // [T, (Hq + 2*Hkv)*D]
  kQ,           // [T, Hq, D]
  kAttn,        // [T, Hq*D]
  kGateUp,      // [T, 2I]
  kAct,         // [T, I]
  kLastHidden,  // [R, H]
  kLogits,      // [R, V] f32
  kLogitsRank,  // [R, V / tp] f32, this rank's vocab columns when split
  kMetaBase,    // device copies of the step's i32 inputs
};

// Cache slot (physical block * block_size + offset) of token position `pos` of a sequence.
int32_t cache_slot(const std::vector<int32_t>& block_table, int32_t pos, int64_t block_size) {
  return block_table[pos / block_size] * static_cast<int32_t>(block_size) + static_cast<int32_t>(pos % block_size);
}

void check_token_id(int64_t id, int64_t vocab) {
  TLM_CHECK_ARG(id >= 0 && id < vocab) << "embedding: token id " << id << " is outside [0, " << vocab << ")";
}

bool has_placeholders(const ForwardBatch& batch) {
  return std::any_of(batch.token_ids.begin(), batch.token_ids.end(), [](int32_t id) { return id < 0; });
}

Tensor host_i32(const std::vector<int32_t>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::kI32);
  std::copy(values.begin(), values.end(), t.data<int32_t>());
  return t;
}

}  // namespace

int64_t ForwardBatch::num_logit_rows() const {
  int64_t rows = 0;
  for (const auto& s : seqs) rows += s.needs_logits ? s.logit_rows : 0;
  return rows;
}

DecoderModel::DecoderModel(ModelConfig config, DecoderWeights weights, Device device, DType activation_dtype,
                           Communicator* comm)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      device_(device),
      act_dtype_(activation_dtype),
      comm_(comm),
      rope_(RopeTable::from_config(config_)),
      attn_scale_(1.0f / std::sqrt(static_cast<float>(config_.head_dim))) {
  const DecoderShard& s = weights_.shard;
  if (s.split()) {
    TLM_CHECK(comm_ != nullptr && comm_->size() == s.size && comm_->rank() == s.rank)
        << "shard " << s.rank << " of " << s.size << " needs the communicator of that rank";
  }
}

KvCacheSpec DecoderModel::kv_cache_spec(int64_t num_blocks, int64_t block_size, KvQuant quant) const {
  KvCacheSpec spec;
  spec.num_layers = config_.num_hidden_layers;
  spec.num_blocks = num_blocks;
  spec.block_size = block_size;
  spec.num_kv_heads = weights_.shard.kv_heads;
  spec.head_dim = config_.head_dim;
  // Unquantized KV keeps the precision the weights are stored in (f32 checkpoints stay exact; bf16/f16 halve
  // the pool). The stored dtype, not config.json's, decides: many configs omit or misstate it.
  spec.dtype = weights_.embed.dtype();
  spec.quant = quant;
  spec.device = device_;
  return spec;
}

DecoderModel::StepInputs DecoderModel::prepare(const ExecContext& ctx, const ForwardBatch& batch, int64_t block_size) {
  const int64_t T = batch.num_tokens(), S = static_cast<int64_t>(batch.seqs.size());
  TLM_CHECK_EQ(static_cast<int64_t>(batch.positions.size()), T);
  int64_t max_blocks = 1, max_query = 0, max_context = 0;
  for (const auto& s : batch.seqs) {
    max_blocks = std::max<int64_t>(max_blocks, static_cast<int64_t>(s.block_table.size()));
    max_query = std::max<int64_t>(max_query, s.query_len);
    max_context = std::max<int64_t>(max_context, s.context_len);
  }
  std::vector<int32_t> query_start(S + 1), context_lens(S), tables(S * max_blocks, 0), slots(T), rows;
  for (int64_t s = 0; s < S; ++s) {
    const auto& seq = batch.seqs[s];
    TLM_CHECK(seq.query_len >= 1 && seq.context_len >= seq.query_len) << "sequence " << s;
    TLM_CHECK_GE(static_cast<int64_t>(seq.block_table.size()) * block_size, seq.context_len) << "sequence " << s;
    query_start[s] = seq.query_start;
    context_lens[s] = seq.context_len;
    std::copy(seq.block_table.begin(), seq.block_table.end(), tables.begin() + s * max_blocks);
    for (int32_t i = 0; i < seq.query_len; ++i) {
      const int32_t pos = seq.context_len - seq.query_len + i;
      const int32_t row = seq.query_start + i;
      TLM_CHECK_EQ(batch.positions[row], pos) << "sequence " << s << " token " << i;
      slots[row] = cache_slot(seq.block_table, pos, block_size);
    }
    if (seq.needs_logits) {
      TLM_CHECK(seq.logit_rows >= 1 && seq.logit_rows <= seq.query_len) << "sequence " << s << " logit_rows";
      for (int32_t i = seq.query_len - seq.logit_rows; i < seq.query_len; ++i) rows.push_back(seq.query_start + i);
    }
  }
  query_start[S] = static_cast<int32_t>(T);

  StepInputs in;
  auto on_device = [&](int slot, const Tensor& host) {
    if (device_.is_cpu()) return host;
    Tensor d = scratch_.get(kMetaBase + slot, host.shape(), DType::kI32, device_);
    copy(ctx, host, d);
    return d;
  };
  in.token_ids =
      on_device(0, host_i32(weights_.shard.split() ? embedding_rows(batch.token_ids) : batch.token_ids, {T}));
  if (has_placeholders(batch)) resolve_feedback_tokens(ctx, batch.feedback, in.token_ids);
  in.positions = on_device(1, host_i32(batch.positions, {T}));
  in.logit_rows = host_i32(rows, {static_cast<int64_t>(rows.size())});
  in.attention.query_start = on_device(2, host_i32(query_start, {S + 1}));
  in.attention.context_lens = on_device(3, host_i32(context_lens, {S}));
  in.attention.block_tables = on_device(4, host_i32(tables, {S, max_blocks}));
  in.attention.slot_mapping = on_device(5, host_i32(slots, {T}));
  in.attention.num_seqs = S;
  in.attention.max_query_len = max_query;
  in.attention.max_context_len = max_context;
  return in;
}

std::vector<int32_t> DecoderModel::embedding_rows(const std::vector<int32_t>& token_ids) const {
  const DecoderShard& s = weights_.shard;
  std::vector<int32_t> rows(token_ids.size());
  for (size_t i = 0; i < token_ids.size(); ++i) {
    const int64_t local = token_ids[i] - s.vocab_begin;
    rows[i] = static_cast<int32_t>(local >= 0 && local < s.vocab ? local : s.vocab);
  }
  return rows;
}

void DecoderModel::reduce(const ExecContext& ctx, Tensor& partial) const {
  if (weights_.shard.split()) comm_->all_reduce_sum(ctx, partial);
}

Tensor DecoderModel::attend(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in, int64_t layer,
                            const Tensor& qkv, KvCache& cache) {
  const DecoderLayerWeights& w = weights_.layers[layer];
  const int64_t T = qkv.dim(0), D = config_.head_dim, Hq = weights_.shard.q_heads;
  Tensor q = buffer(kQ, {T, Hq, D});
  QkNorm norm;
  if (w.q_norm.defined()) norm = QkNorm{w.q_norm, w.k_norm, static_cast<float>(config_.rms_norm_eps)};
  if (!rope_.dynamic) {
    qkv_rope_kv_write(ctx, qkv, norm, in.positions, rope_, in.attention.slot_mapping, cache, layer, q);
  } else {
    // Dynamic NTK: like transformers, each sequence's frequencies follow its own longest position this step.
    for (const auto& s : batch.seqs) {
      const int64_t begin = s.query_start, end = s.query_start + s.query_len;
      Tensor qs = q.slice(0, begin, end);
      qkv_rope_kv_write(ctx, qkv.slice(0, begin, end), norm, in.positions.slice(0, begin, end),
                        rope_.for_seq_len(s.context_len), in.attention.slot_mapping.slice(0, begin, end), cache, layer,
                        qs);
    }
  }
  Tensor attn = buffer(kAttn, {T, Hq, D});
  paged_attention(ctx, q, cache, layer, in.attention, attn_scale_, attn);
  return attn.view({T, Hq * D});
}

void DecoderModel::attention_block(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in,
                                   int64_t layer, const Tensor& normed, KvCache& cache, Tensor& out) {
  const DecoderLayerWeights& w = weights_.layers[layer];
  Tensor qkv = buffer(kQkv, {normed.dim(0), w.qkv.out_features()});
  linear(ctx, normed, w.qkv, qkv);
  linear(ctx, attend(ctx, batch, in, layer, qkv, cache), w.o, out);
  reduce(ctx, out);
}

void DecoderModel::mlp_block(const ExecContext& ctx, int64_t layer, const Tensor& normed, Tensor& out) {
  const DecoderLayerWeights& w = weights_.layers[layer];
  const int64_t T = normed.dim(0), I = weights_.shard.intermediate;
  Tensor gate_up = buffer(kGateUp, {T, 2 * I});
  linear(ctx, normed, w.gate_up, gate_up);
  Tensor act = buffer(kAct, {T, I});
  silu_mul(ctx, gate_up, act);
  linear(ctx, act, w.down, out);
  reduce(ctx, out);
}

void DecoderModel::fused_layer(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in, int64_t layer,
                               KvCache& cache, Tensor& residual) {
  const DecoderLayerWeights& w = weights_.layers[layer];
  const int64_t T = residual.dim(0);
  const float eps = static_cast<float>(config_.rms_norm_eps);
  // A projection followed directly by another names it (ops/fused_linear.h); qkv does not name o: warming o
  // while attention runs delayed attention's own reads more than it saved.
  const LinearWeight& after_down =
      layer + 1 < config_.num_hidden_layers ? weights_.layers[layer + 1].qkv : weights_.lm_head;
  Tensor qkv = buffer(kQkv, {T, w.qkv.out_features()});
  rms_norm_linear(ctx, residual, w.attn_norm, eps, w.qkv, qkv);
  linear_add(ctx, attend(ctx, batch, in, layer, qkv, cache), w.o, residual, &w.gate_up);
  Tensor gate_up = buffer(kGateUp, {T, w.gate_up.out_features()});
  rms_norm_linear(ctx, residual, w.ffn_norm, eps, w.gate_up, gate_up, &w.down);
  silu_mul_linear_add(ctx, gate_up, w.down, residual, &after_down);
}

void DecoderModel::lm_head(const ExecContext& ctx, const Tensor& last, Tensor& logits) {
  const int64_t R = last.dim(0), V = weights_.shard.vocab;
  // Each rank computes its vocab columns; all_gather lays them side by side in rank order.
  Tensor f32 = weights_.shard.split() ? scratch_.get(kLogitsRank, {R, V}, DType::kF32, device_) : logits;
  linear(ctx, last, weights_.lm_head, f32);  // f32 logits from any activation dtype
  if (weights_.shard.split()) comm_->all_gather(ctx, f32, logits);
}

void DecoderModel::check_token_ids(const ForwardBatch& batch) const {
  const int64_t rows = batch.feedback.defined() ? batch.feedback.numel() : 0;
  for (const int32_t id : batch.token_ids) {
    if (id >= 0) {
      check_token_id(id, config_.vocab_size);
      continue;
    }
    TLM_CHECK_ARG(supports_token_feedback()) << "token id " << id << ": this model takes no fed-back tokens";
    TLM_CHECK_ARG(-static_cast<int64_t>(id) - 1 < rows)
        << "token id " << id << " stands for fed-back row " << -static_cast<int64_t>(id) - 1 << ", but " << rows
        << " rows were fed back";
  }
  if (batch.feedback.defined()) {
    TLM_CHECK_ARG(batch.feedback.device() == device_ && batch.feedback.dtype() == DType::kI32)
        << "fed-back ids must be i32 on " << device_.to_string() << ", got " << batch.feedback.to_string();
  }
}

Tensor DecoderModel::forward(const ExecContext& ctx, const ForwardBatch& batch, KvCache& cache) {
  TLM_CHECK_GT(batch.num_tokens(), 0) << "empty step";
  check_token_ids(batch);  // the device kernels cannot report a bad id
  if (graph_eligible(ctx, batch)) return forward_graphed(ctx, batch, cache);
  return run(ctx, batch, prepare(ctx, batch, cache.spec().block_size), cache);
}

bool DecoderModel::graph_eligible(const ExecContext& ctx, const ForwardBatch& batch) const {
  // Decode steps only (one new token per sequence, every one sampled), on one device, with a RoPE table that
  // does not depend on the step (dynamic NTK recomputes it per sequence on the host).
  if (!step_graphs_enabled(ctx) || weights_.shard.split() || rope_.dynamic) return false;
  if (batch.seqs.empty() || static_cast<int64_t>(batch.seqs.size()) > kMaxGraphBatch) return false;
  if (batch.num_tokens() != static_cast<int64_t>(batch.seqs.size())) return false;
  for (const auto& s : batch.seqs)
    if (s.query_len != 1 || !s.needs_logits) return false;
  return true;
}

namespace {

// Decode batch sizes a graph is recorded for; a batch runs padded to the next one.
int64_t graph_bucket(int64_t seqs) {
  if (seqs <= 8) return static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(seqs)));
  return (seqs + 15) / 16 * 16;
}

}  // namespace

Tensor DecoderModel::forward_graphed(const ExecContext& ctx, const ForwardBatch& batch, KvCache& cache) {
  const int64_t S = static_cast<int64_t>(batch.seqs.size()), B = graph_bucket(S);
  const int64_t block_size = cache.spec().block_size;
  int64_t max_blocks = 1;
  for (const auto& s : batch.seqs)
    max_blocks = std::max<int64_t>(max_blocks, static_cast<int64_t>(s.block_table.size()));
  // Table width rounded up to a power of two (>= 8): a graph serves a range of context lengths, and the
  // attention grid is sized for the widest context the table can hold.
  const int64_t W = static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(std::max<int64_t>(max_blocks, 8))));

  // One i32 upload: ids [B] | positions [B] | query_start [B+1] | context_lens [B] | slots [B] | tables [B, W].
  // Padding sequences read position 0 of block 0 and write nothing (slot -1); their logits rows are dropped.
  const int64_t n = 5 * B + 1 + B * W;
  std::vector<int32_t> host(n, 0);
  int32_t *ids = host.data(), *pos = ids + B, *qs = pos + B, *ctx_lens = qs + B + 1, *slots = ctx_lens + B,
          *tables = slots + B;
  for (int64_t s = 0; s < B; ++s) {
    qs[s] = static_cast<int32_t>(s);
    ctx_lens[s] = 1;
    slots[s] = -1;
  }
  qs[B] = static_cast<int32_t>(B);
  for (int64_t s = 0; s < S; ++s) {
    const auto& seq = batch.seqs[s];
    const int32_t id = batch.token_ids[seq.query_start];
    TLM_CHECK_EQ(batch.positions[seq.query_start], seq.context_len - 1) << "sequence " << s;
    TLM_CHECK_GE(static_cast<int64_t>(seq.block_table.size()) * block_size, seq.context_len) << "sequence " << s;
    const int32_t p = seq.context_len - 1;
    ids[s] = id;
    pos[s] = p;
    ctx_lens[s] = seq.context_len;
    slots[s] = cache_slot(seq.block_table, p, block_size);
    std::copy(seq.block_table.begin(), seq.block_table.end(), tables + s * W);
  }
  if (!graph_inputs_.defined() || graph_inputs_.numel() < n) {
    graph_inputs_ = Tensor::empty({std::max<int64_t>(n, 4096)}, DType::kI32, device_);
    graphs_.clear();  // recorded against the old buffer
  }
  upload_staged(ctx, host.data(), n, graph_inputs_);

  StepInputs in;
  const Tensor& g = graph_inputs_;
  in.token_ids = g.slice(0, 0, B);
  if (has_placeholders(batch)) resolve_feedback_tokens(ctx, batch.feedback, in.token_ids);
  in.positions = g.slice(0, B, 2 * B);
  in.attention.query_start = g.slice(0, 2 * B, 3 * B + 1);
  in.attention.context_lens = g.slice(0, 3 * B + 1, 4 * B + 1);
  in.attention.slot_mapping = g.slice(0, 4 * B + 1, 5 * B + 1);
  in.attention.block_tables = g.slice(0, 5 * B + 1, n).view({B, W});
  in.attention.num_seqs = B;
  in.attention.max_query_len = 1;
  in.attention.max_context_len = W * block_size;

  GraphEntry& entry = graphs_[GraphKey{B, W, &cache}];
  if (entry.graph && (entry.graph->stale() || entry.scratch_generation != scratch_.generation())) entry.graph.reset();
  if (!entry.warmed) {  // first time: eager, so that recording later allocates nothing new
    entry.warmed = true;
    return run(ctx, batch, in, cache).slice(0, 0, S);
  }
  if (!entry.graph) {
    entry.graph = StepGraph::record(ctx, [&](const ExecContext& c) { entry.logits = run(c, batch, in, cache); });
    entry.scratch_generation = scratch_.generation();
  }
  entry.graph->replay(ctx);
  return entry.logits.slice(0, 0, S);
}

Tensor DecoderModel::run(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in, KvCache& cache) {
  const int64_t T = in.token_ids.numel(), H = config_.hidden_size;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  // Decode steps of one or two tokens on one device: each projection carries the norm before it or the residual
  // add after it (ops/fused_linear.h). Larger steps, and ranks whose row-parallel outputs are partial sums until
  // the all-reduce, keep the separate norm and residual add.
  const bool fused = T <= kMaxFusedLinearTokens && !weights_.shard.split();

  Tensor residual = buffer(kResidual, {T, H}), normed = buffer(kNormed, {T, H}), delta = buffer(kDelta, {T, H});
  embedding(ctx, in.token_ids, weights_.embed, residual);
  reduce(ctx, residual);  // vocab-parallel: every row is non-zero on exactly one rank
  if (fused) {
    for (int64_t layer = 0; layer < config_.num_hidden_layers; ++layer)
      fused_layer(ctx, batch, in, layer, cache, residual);
  } else {
    rms_norm(ctx, residual, weights_.layers[0].attn_norm, eps, normed);
    for (int64_t layer = 0; layer < config_.num_hidden_layers; ++layer) {
      const DecoderLayerWeights& w = weights_.layers[layer];
      attention_block(ctx, batch, in, layer, normed, cache, delta);
      add_rms_norm(ctx, residual, delta, w.ffn_norm, eps, normed);  // residual += attn; normed = norm(residual)
      mlp_block(ctx, layer, normed, delta);
      const Tensor& next_norm =
          layer + 1 < config_.num_hidden_layers ? weights_.layers[layer + 1].attn_norm : weights_.final_norm;
      add_rms_norm(ctx, residual, delta, next_norm, eps, normed);  // residual += mlp; normed = norm(residual)
    }
  }

  const int64_t R = in.logit_rows.defined() ? in.logit_rows.dim(0) : T;
  Tensor logits = scratch_.get(kLogits, {R, config_.vocab_size}, DType::kF32, device_);
  if (R == 0) return logits;
  if (fused && !in.logit_rows.defined()) {  // every row: the final norm rides on the lm_head
    rms_norm_linear(ctx, residual, weights_.final_norm, eps, weights_.lm_head, logits);
    return logits;
  }
  if (fused) rms_norm(ctx, residual, weights_.final_norm, eps, normed);
  if (!in.logit_rows.defined()) {
    lm_head(ctx, normed, logits);
    return logits;
  }
  Tensor last = buffer(kLastHidden, {R, H});
  gather_rows(ctx, normed, in.logit_rows, last);
  lm_head(ctx, last, logits);
  return logits;
}

}  // namespace turbolm
