// The model executor interface: one forward step over a batch of sequences with a paged KV cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "io/model_config.h"
#include "ops/attention.h"
#include "ops/exec_context.h"
#include "ops/kv_cache.h"

namespace turbolm {

class Communicator;

// One engine step, described on the host. Sequence s contributes tokens
// [seqs[s].query_start, seqs[s].query_start + seqs[s].query_len) of token_ids / positions.
struct ForwardBatch {
  struct Sequence {
    int32_t query_start = 0;           // first row in token_ids
    int32_t query_len = 0;             // new tokens this step (prefill chunk length, or 1 for decode)
    int32_t context_len = 0;           // tokens in the cache after this step (cached + query_len)
    std::vector<int32_t> block_table;  // logical block -> physical block, covering context_len tokens
    bool needs_logits = true;          // false for a prefill chunk that does not end the prompt
    int32_t logit_rows = 1;            // with needs_logits: the last logit_rows tokens get logits (scoring)
  };
  std::vector<int32_t> token_ids;  // [T]; feedback_token(r) (ops/sampling.h) stands for feedback[r]
  std::vector<int32_t> positions;  // [T] = context_len - query_len + i within each sequence
  std::vector<Sequence> seqs;      // [S]
  // The ids the previous step sampled, still on the model's device (SampleFuture::token_ids(), [R] i32): lets a
  // decode step be enqueued before the host has its input tokens. Only for models whose
  // supports_token_feedback() is true; undefined when token_ids holds no placeholder.
  Tensor feedback;

  int64_t num_tokens() const { return static_cast<int64_t>(token_ids.size()); }
  // Rows of the logits tensor forward() fills: logit_rows per sequence with needs_logits, in sequence order.
  int64_t num_logit_rows() const;
};

struct LoadOptions {
  Device device = Device::cpu();
  // Activation dtype; nullopt = f32 on CPU, the checkpoint's dtype on CUDA. Weights keep their stored dtype.
  std::optional<DType> activation_dtype;
  // Tensor parallelism: this process-local rank loads shard communicator->rank() of communicator->size()
  // (docs/tensor_parallel.md) and runs its collectives through it. Not owned; must outlive the model.
  // nullptr = the whole model on one device.
  Communicator* communicator = nullptr;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelConfig& config() const = 0;
  // KV cache geometry for this model (layers, kv heads, head dim, element dtype) with the given pool size.
  // Under tensor parallelism: this rank's kv heads (each rank owns a cache of its own).
  virtual KvCacheSpec kv_cache_spec(int64_t num_blocks, int64_t block_size, KvQuant quant) const = 0;
  // Bytes of weights resident on the model's device.
  virtual size_t weight_bytes() const = 0;
  virtual Device device() const = 0;
  // Runs the step: writes the new tokens' K/V into `cache` and returns logits [num_logit_rows, vocab] f32 on the
  // model's device (the engine samples there, so only token ids cross to the host). The returned tensor stays
  // valid until the next forward call.
  virtual Tensor forward(const ExecContext& ctx, const ForwardBatch& batch, KvCache& cache) = 0;
  // Whether forward() takes placeholder token ids resolved from ForwardBatch::feedback on the device.
  virtual bool supports_token_feedback() const { return false; }
};

// Reads config.json, picks the family by architectures[0] (models/registry.h) and loads the weights.
// Unknown architectures throw Unsupported listing the supported ones.
std::unique_ptr<Model> load_model(const std::filesystem::path& model_dir, const LoadOptions& options = {});

}  // namespace turbolm
