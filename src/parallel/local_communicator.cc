#include "parallel/local_communicator.h"

#include <cstring>

#include "core/half.h"

namespace turbolm {
namespace {

// Element i of an f32 | bf16 | f16 tensor (checked by the caller).
float load(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::kF32) return static_cast<const float*>(t.data())[i];
  if (t.dtype() == DType::kBF16) return bf16_to_float(static_cast<const bf16*>(t.data())[i]);
  return f16_to_float(static_cast<const f16*>(t.data())[i]);
}

void store(Tensor& t, int64_t i, float v) {
  if (t.dtype() == DType::kF32) {
    static_cast<float*>(t.data())[i] = v;
  } else if (t.dtype() == DType::kBF16) {
    static_cast<bf16*>(t.data())[i] = float_to_bf16(v);
  } else {
    static_cast<f16*>(t.data())[i] = float_to_f16(v);
  }
}

}  // namespace

// Each collective: publish this rank's tensor, barrier, read every rank's tensor, barrier (nobody reads a
// peer's buffer after it), then write this rank's output.
class LocalCommunicatorGroup::Rank final : public Communicator {
 public:
  Rank(LocalCommunicatorGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_.size(); }

  void all_reduce_sum(const ExecContext& ctx, Tensor& x) override {
    TLM_CHECK(x.device().is_cpu() && x.is_contiguous()) << "local all_reduce_sum needs a contiguous host tensor";
    TLM_CHECK(x.dtype() == DType::kF32 || x.dtype() == DType::kBF16 || x.dtype() == DType::kF16)
        << "all_reduce_sum of " << dtype_name(x.dtype());
    const int64_t n = x.numel();
    sum_.assign(static_cast<size_t>(n), 0.0f);
    publish(x);
    for (const Tensor* peer : group_.published_) {
      TLM_CHECK(peer->numel() == n && peer->dtype() == x.dtype())
          << "all_reduce_sum: rank " << rank_ << " has " << x.to_string() << ", a peer " << peer->to_string();
      for (int64_t i = 0; i < n; ++i) sum_[i] += load(*peer, i);
    }
    group_.arrive_and_wait();
    for (int64_t i = 0; i < n; ++i) store(x, i, sum_[i]);
  }

  void all_gather(const ExecContext& ctx, const Tensor& shard, Tensor& full) override {
    check_all_gather_shapes(shard, full, size());
    TLM_CHECK(shard.device().is_cpu() && full.device().is_cpu()) << "local all_gather needs host tensors";
    publish(shard);
    const int64_t rows = shard.dim(0);
    const size_t row_bytes = dtype_bytes(shard.dtype(), static_cast<size_t>(shard.dim(1)));
    char* dst = static_cast<char*>(full.data());
    for (int64_t r = 0; r < rows; ++r) {
      for (const Tensor* peer : group_.published_) {
        TLM_CHECK(peer->shape() == shard.shape()) << "all_gather: shards differ across ranks";
        std::memcpy(dst, static_cast<const char*>(peer->data()) + r * row_bytes, row_bytes);
        dst += row_bytes;
      }
    }
    group_.arrive_and_wait();
  }

 private:
  void publish(const Tensor& t) {
    group_.published_[rank_] = &t;
    group_.arrive_and_wait();
  }

  LocalCommunicatorGroup& group_;
  int rank_;
  std::vector<float> sum_;
};

LocalCommunicatorGroup::LocalCommunicatorGroup(int size) : published_(size) {
  TLM_CHECK_ARG(size >= 1) << "a communicator group needs at least one rank, got " << size;
  for (int r = 0; r < size; ++r) ranks_.push_back(std::make_unique<Rank>(*this, r));
}

LocalCommunicatorGroup::~LocalCommunicatorGroup() = default;

Communicator& LocalCommunicatorGroup::rank(int r) {
  TLM_CHECK(r >= 0 && r < size()) << "rank " << r << " of " << size();
  return *ranks_[r];
}

void LocalCommunicatorGroup::arrive_and_wait() {
  std::unique_lock lock(mutex_);
  const uint64_t phase = phase_;
  if (!aborted_ && ++arrived_ == size()) {
    arrived_ = 0;
    ++phase_;
    all_arrived_.notify_all();
    return;
  }
  all_arrived_.wait(lock, [&] { return phase_ != phase || aborted_; });
  // A phase that completed before the abort still counts: this rank fails at its next collective instead.
  if (phase_ == phase) TLM_FAIL(kCancelled) << "tensor-parallel collective aborted: another rank failed";
}

void LocalCommunicatorGroup::abort() {
  std::lock_guard lock(mutex_);
  aborted_ = true;
  all_arrived_.notify_all();
}

bool LocalCommunicatorGroup::recover() {
  std::lock_guard lock(mutex_);
  aborted_ = false;
  arrived_ = 0;
  return true;
}

}  // namespace turbolm
