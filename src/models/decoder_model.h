// The Llama-style decoder every supported family shares: pre-norm blocks of GQA attention with RoPE over the
// paged KV cache and a SiLU-gated MLP, built from backend-neutral ops.
#pragma once

#include "models/decoder_weights.h"
#include "models/model.h"
#include "models/scratch.h"
#include "ops/rope.h"

namespace turbolm {

class DecoderModel final : public Model {
 public:
  DecoderModel(ModelConfig config, DecoderWeights weights, Device device, DType activation_dtype);

  const ModelConfig& config() const override { return config_; }
  KvCacheSpec kv_cache_spec(int64_t num_blocks, int64_t block_size, KvQuant quant) const override;
  size_t weight_bytes() const override { return weights_.bytes(); }
  Device device() const override { return device_; }
  Tensor forward(const ExecContext& ctx, const ForwardBatch& batch, KvCache& cache) override;

 private:
  // Host-built step inputs, moved to the model's device.
  struct StepInputs {
    Tensor token_ids;   // [T] i32
    Tensor positions;   // [T] i32
    Tensor logit_rows;  // [R] i32 (host)
    AttentionMetadata attention;
  };
  StepInputs prepare(const ExecContext& ctx, const ForwardBatch& batch, int64_t block_size);
  void attention_block(const ExecContext& ctx, const ForwardBatch& batch, const StepInputs& in, int64_t layer,
                       const Tensor& normed, KvCache& cache, Tensor& out);
  void mlp_block(const ExecContext& ctx, int64_t layer, const Tensor& normed, Tensor& out);
  Tensor buffer(int slot, const Shape& shape) { return scratch_.get(slot, shape, act_dtype_, device_); }

  ModelConfig config_;
  DecoderWeights weights_;
  Device device_;
  DType act_dtype_;
  RopeTable rope_;
  float attn_scale_;
  ScratchBuffers scratch_;
};

}  // namespace turbolm
