// Tensor parallelism inside one process (docs/tensor_parallel.md): a Model that drives `tp` rank models, each
// a DecoderModel over its weight shard with its own KV cache, one thread per rank (rank 0 runs on the caller's
// thread). The engine sees one model: same ForwardBatch, same block tables, rank 0's logits.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "models/model.h"
#include "parallel/communicator.h"

namespace turbolm {

class TensorParallelModel final : public Model {
 public:
  struct Options {
    std::vector<Device> devices;            // rank r's device; one per rank of the group
    std::optional<DType> activation_dtype;  // as LoadOptions::activation_dtype
    int cpu_threads_per_rank = 1;           // CPU ranks 1..tp-1 each get a pool this size; rank 0 uses the caller's
  };

  // Loads shard r of the model in `model_dir` on devices[r] through group->rank(r), all ranks concurrently.
  // Load errors (e.g. a tp that does not divide the heads) propagate from here.
  TensorParallelModel(const std::filesystem::path& model_dir, std::unique_ptr<CommunicatorGroup> group,
                      Options options);
  ~TensorParallelModel() override;
  TensorParallelModel(const TensorParallelModel&) = delete;
  TensorParallelModel& operator=(const TensorParallelModel&) = delete;

  int size() const { return static_cast<int>(ranks_.size()); }

  // Rank 0's: the config is the whole model's, the KV spec has this rank's kv heads (every rank's cache has the
  // same size), the weight bytes are one shard's (what each device holds).
  const ModelConfig& config() const override { return ranks_[0].model->config(); }
  KvCacheSpec kv_cache_spec(int64_t num_blocks, int64_t block_size, KvQuant quant) const override;
  size_t weight_bytes() const override { return ranks_[0].model->weight_bytes(); }
  Device device() const override { return ranks_[0].model->device(); }

  // Every rank runs `batch`: rank 0 here with `ctx` and `cache`, rank r >= 1 on its thread with its own context
  // and cache. Returns rank 0's logits (all-gathered over the vocab). A rank that throws aborts the group, so no
  // peer stays blocked in a collective; the first error is rethrown here. Afterwards the group is recovered
  // (CPU) or, when it cannot be (NCCL), every later call throws.
  Tensor forward(const ExecContext& ctx, const ForwardBatch& batch, KvCache& cache) override;

  // Allocates ranks 1..tp-1's KV caches to match rank 0's `cache` (the engine's), so that running out of memory
  // fails at startup instead of at the first step. forward() does it for a cache it has not seen; the ranks
  // keep one set of caches, paired with one rank-0 cache at a time (one engine per model).
  void attach_cache(const KvCache& cache);

 private:
  class Workers;
  struct Rank {
    std::unique_ptr<Model> model;
    std::unique_ptr<ThreadPool> pool;  // ranks >= 1 (one thread on CUDA)
    ExecContext ctx;                   // ranks >= 1 (rank 0 runs with the caller's)
    std::unique_ptr<KvCache> cache;    // ranks >= 1
  };

  // Runs fn(r) for every rank and waits for all; see forward() for what happens when one throws.
  void run_ranks(const std::function<void(int)>& fn);

  std::unique_ptr<CommunicatorGroup> group_;  // first: outlives the models that use it
  std::vector<Rank> ranks_;
  const KvCache* attached_ = nullptr;  // the rank-0 cache the other ranks' caches mirror, and its geometry
  KvCacheSpec attached_spec_;
  std::string broken_;                // why the group cannot run any more; empty while it can
  std::unique_ptr<Workers> workers_;  // last: its threads stop before anything they use is destroyed
};

// tp ranks simulated on the CPU by threads of this process over a LocalCommunicatorGroup (tests; the product
// keeps tp > 1 on CUDA, see check_tensor_parallel_devices).
std::unique_ptr<TensorParallelModel> load_tensor_parallel_cpu(const std::filesystem::path& model_dir, int tp,
                                                              int cpu_threads_per_rank = 1);

// GPUs 0..tp-1 of this host over NCCL (NcclLocalGroup), one thread per GPU. Unsupported in a build without the
// CUDA backend and NCCL.
std::unique_ptr<TensorParallelModel> load_tensor_parallel_cuda(const std::filesystem::path& model_dir, int tp,
                                                               std::optional<DType> activation_dtype = {});

}  // namespace turbolm
