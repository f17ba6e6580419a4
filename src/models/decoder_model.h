// The Llama-style decoder every supported family shares: pre-norm blocks of GQA attention with RoPE over the
// paged KV cache and a SiLU-gated MLP, built from backend-neutral ops. Under tensor parallelism each rank runs
// one DecoderModel over its weight shard (DecoderShard) and the communicator joins the partial results.
#pragma once

#include <map>
#include <memory>
#include <tuple>

#include "models/decoder_weights.h"
#include "models/model.h"
#include "models/scratch.h"
#include "ops/rope.h"
#include "ops/step_graph.h"

namespace turbolm {

class DecoderModel final : public Model {
 public:
  // `comm` (not owned; outlives the model) joins the ranks when weights.shard is split; nullptr when not.
  DecoderModel(ModelConfig config, DecoderWeights weights, Device device, DType activation_dtype,
               Communicator* comm = nullptr);

  const ModelConfig& config() const override { return config_; }
  KvCacheSpec kv_cache_spec(int64_t num_blocks, int64_t block_size, KvQuant quant) const override;
  size_t weight_bytes() const override { return weights_.bytes(); }
  Device device() const override { return device_; }
  Tensor forward(const ExecContext& ctx, const ForwardBatch& batch, KvCache& cache) override;
  // One device: the embedding's rows are the ids themselves (a vocab-split shard maps them on the host).
  bool supports_token_feedback() const override { return !weights_.shard.split(); }

 private:
  // Host-built step inputs, moved to the model's device.
  struct StepInputs {
    Tensor token_ids;   // [T] i32
    Tensor positions;   // [T] i32
    Tensor logit_rows;  // [R] i32 (host); undefined: logits for every row (graphed decode steps)
    AttentionMetadata attention;
  };
  // A decode batch padded to a graph bucket: B sequences, block tables W wide (CUDA graphs of decode steps).
  struct GraphKey {
    int64_t batch, width;
    const KvCache* cache;
    auto operator<=>(const GraphKey&) const = default;
  };
  struct GraphEntry {
    bool warmed = false;  // one eager step of this shape ran (sizes scratch buffers, plans and workspaces)
    std::unique_ptr<StepGraph> graph;
    uint64_t scratch_generation = 0;
    Tensor logits;  // [B, V] f32: where the graph writes the logits
  };

  // Largest decode batch run through a CUDA graph (larger ones run eagerly: launch overhead no longer matters).
  static constexpr int64_t kMaxGraphBatch = 128;

  // Every token id is in [0, vocab) or a placeholder for a row of batch.feedback.
  void check_token_ids(const ForwardBatch& batch) const;
  StepInputs prepare(const ExecContext& ctx, const ForwardBatch& batch, int64_t block_size);
  // The whole step from the prepared inputs; `batch` is read only for dynamic RoPE.
  Tensor run(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in, KvCache& cache);
  bool graph_eligible(const ExecContext& ctx, const ForwardBatch& batch) const;
  Tensor forward_graphed(const ExecContext& ctx, const ForwardBatch& batch, KvCache& cache);
  // q/k norm, RoPE and the KV write of the step's qkv projection [T, (Hq + 2 Hkv) D], then attention over the cache:
  // the attention output [T, Hq * D] (a scratch buffer).
  Tensor attend(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in, int64_t layer,
                const Tensor& qkv, KvCache& cache);
  // out = attention block of `normed` (partial sums under tensor parallelism until reduced).
  void attention_block(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in, int64_t layer,
                       const Tensor& normed, KvCache& cache, Tensor& out);
  void mlp_block(const ExecContext& ctx, int64_t layer, const Tensor& normed, Tensor& out);
  // A whole layer through the fused projections (ops/fused_linear.h): residual += attention, += MLP.
  void fused_layer(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in, int64_t layer,
                   KvCache& cache, Tensor& residual);
  Tensor buffer(int slot, const Shape& shape) { return scratch_.get(slot, shape, act_dtype_, device_); }
  // Token ids (checked by check_token_ids) as rows of this rank's embedding shard (ids of other ranks -> its
  // zero row). Host, [T].
  std::vector<int32_t> embedding_rows(const std::vector<int32_t>& token_ids) const;
  // Sums a row-parallel layer's partial outputs over the ranks (nothing to do at tp 1).
  void reduce(const ExecContext& ctx, Tensor& partial) const;
  void lm_head(const ExecContext& ctx, const Tensor& last, Tensor& logits);

  ModelConfig config_;
  DecoderWeights weights_;
  Device device_;
  DType act_dtype_;
  Communicator* comm_;
  RopeTable rope_;
  float attn_scale_;
  ScratchBuffers scratch_;
  Tensor graph_inputs_;  // i32 on the device: a graphed step's ids, positions and attention metadata
  std::map<GraphKey, GraphEntry> graphs_;
};

}  // namespace turbolm
