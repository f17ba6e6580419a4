#include "models/tensor_parallel_model.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/logging.h"
#include "parallel/local_communicator.h"
#if TURBOLM_WITH_NCCL
#include "parallel/nccl_communicator.h"
#endif

namespace turbolm {
namespace {

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

bool same_geometry(const KvCacheSpec& a, const KvCacheSpec& b) {
  return a.num_blocks == b.num_blocks && a.block_size == b.block_size && a.quant == b.quant;
}

}  // namespace

// Threads for ranks 1..n-1. run(fn) hands fn to all of them, calls fn(0) on the caller's thread and returns
// once every rank finished. fn must not throw (run_ranks catches per rank).
class TensorParallelModel::Workers {
 public:
  explicit Workers(int ranks) {
    for (int r = 1; r < ranks; ++r) threads_.emplace_back([this, r] { loop(r); });
  }

  ~Workers() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  void run(const std::function<void(int)>& fn) {
    {
      std::lock_guard lock(mutex_);
      job_ = &fn;
      pending_ = static_cast<int>(threads_.size());
      ++generation_;
    }
    wake_.notify_all();
    fn(0);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
  }

 private:
  void loop(int rank) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      (*job)(rank);
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

TensorParallelModel::TensorParallelModel(const std::filesystem::path& model_dir,
                                         std::unique_ptr<CommunicatorGroup> group, Options options)
    : group_(std::move(group)), ranks_(group_->size()) {
  TLM_CHECK_EQ(options.devices.size(), ranks_.size());
  for (int r = 1; r < size(); ++r) {
    // A pool of its own even on CUDA: ThreadPool::global() is not reentrant, and rank 0 may be using it.
    const bool cpu = options.devices[r].is_cpu();
    ranks_[r].pool = std::make_unique<ThreadPool>(cpu ? options.cpu_threads_per_rank : 1);
    ranks_[r].ctx = ExecContext{.device = options.devices[r], .pool = ranks_[r].pool.get()};
  }
  workers_ = std::make_unique<Workers>(size());
  run_ranks([&](int r) {
    ranks_[r].model = load_model(model_dir, LoadOptions{.device = options.devices[r],
                                                        .activation_dtype = options.activation_dtype,
                                                        .communicator = &group_->rank(r)});
  });
}

TensorParallelModel::~TensorParallelModel() = default;

KvCacheSpec TensorParallelModel::kv_cache_spec(int64_t num_blocks, int64_t block_size, KvQuant quant) const {
  return ranks_[0].model->kv_cache_spec(num_blocks, block_size, quant);
}

void TensorParallelModel::run_ranks(const std::function<void(int)>& fn) {
  if (!broken_.empty()) TLM_FAIL(kInternal) << broken_;
  std::mutex mutex;
  std::exception_ptr first;  // the root cause: ranks released by abort() fail after it with kCancelled
  int first_rank = -1;
  workers_->run([&](int r) {
    try {
      group_->bind_thread(r);
      fn(r);
    } catch (...) {
      {
        std::lock_guard lock(mutex);
        if (!first) {
          first = std::current_exception();
          first_rank = r;
        }
      }
      group_->abort();
    }
  });
  if (!first) return;
  const std::string what = message_of(first);
  TLM_LOG_ERROR("tensor-parallel rank {} of {} failed: {}", first_rank, size(), what);
  if (!group_->recover()) {
    broken_ = fmt::format(
        "tensor parallelism stopped: rank {} failed ({}) and its communicators were aborted; "
        "restart the engine",
        first_rank, what);
  }
  std::rethrow_exception(first);
}

void TensorParallelModel::attach_cache(const KvCache& cache) {
  const KvCacheSpec spec = cache.spec();
  attached_ = nullptr;  // until every rank has its cache
  run_ranks([&](int r) {
    if (r == 0) return;
    ranks_[r].cache.reset();  // free the old pool first: never two on the device at once
    ranks_[r].cache =
        std::make_unique<KvCache>(ranks_[r].model->kv_cache_spec(spec.num_blocks, spec.block_size, spec.quant));
  });
  attached_ = &cache;
  attached_spec_ = spec;
}

Tensor TensorParallelModel::forward(const ExecContext& ctx, const ForwardBatch& batch, KvCache& cache) {
  if (attached_ != &cache || !same_geometry(attached_spec_, cache.spec())) attach_cache(cache);
  Tensor logits;
  run_ranks([&](int r) {
    if (r == 0) {
      logits = ranks_[0].model->forward(ctx, batch, cache);
    } else {
      ranks_[r].model->forward(ranks_[r].ctx, batch, *ranks_[r].cache);
    }
  });
  return logits;
}

std::unique_ptr<TensorParallelModel> load_tensor_parallel_cpu(const std::filesystem::path& model_dir, int tp,
                                                              int cpu_threads_per_rank) {
  TLM_CHECK_ARG(tp >= 1) << "--tp must be >= 1, got " << tp;
  TLM_CHECK_ARG(cpu_threads_per_rank >= 1) << "threads per rank must be >= 1, got " << cpu_threads_per_rank;
  return std::make_unique<TensorParallelModel>(
      model_dir, std::make_unique<LocalCommunicatorGroup>(tp),
      TensorParallelModel::Options{.devices = std::vector<Device>(tp, Device::cpu()),
                                   .activation_dtype = std::nullopt,
                                   .cpu_threads_per_rank = cpu_threads_per_rank});
}

std::unique_ptr<TensorParallelModel> load_tensor_parallel_cuda(const std::filesystem::path& model_dir, int tp,
                                                               std::optional<DType> activation_dtype) {
  TLM_CHECK_ARG(tp >= 1) << "--tp must be >= 1, got " << tp;
#if TURBOLM_WITH_NCCL
  TensorParallelModel::Options options;
  options.activation_dtype = activation_dtype;
  for (int r = 0; r < tp; ++r) options.devices.push_back(Device::cuda(r));
  return std::make_unique<TensorParallelModel>(model_dir, std::make_unique<NcclLocalGroup>(tp), std::move(options));
#else
  TLM_FAIL(kUnsupported) << "--tp " << tp << " needs a build with the CUDA backend and NCCL";
#endif
}

}  // namespace turbolm
