// A LocalCommunicatorGroup whose ranks can be told to throw at a chosen collective: a rank failing mid-step
// for the TensorParallelModel tests (models/ and engine/).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "core/error.h"
#include "parallel/local_communicator.h"

namespace turbolm::testing_util {

// A communicator that forwards to a real one; armed with fail_at = k, it throws once, at its k-th collective
// from then on (0-based), instead of joining it.
class FaultyCommunicator final : public Communicator {
 public:
  explicit FaultyCommunicator(Communicator& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  void all_reduce_sum(const ExecContext& ctx, Tensor& x) override {
    maybe_fail();
    inner_.all_reduce_sum(ctx, x);
  }
  void all_gather(const ExecContext& ctx, const Tensor& shard, Tensor& full) override {
    maybe_fail();
    inner_.all_gather(ctx, shard, full);
  }
  std::atomic<int> fail_at{-1};  // -1 = never

 private:
  void maybe_fail() {
    if (fail_at.load() >= 0 && fail_at.fetch_sub(1) == 0) TLM_FAIL(kInternal) << "injected failure on rank " << rank();
  }
  Communicator& inner_;
};

class FaultyGroup final : public CommunicatorGroup {
 public:
  FaultyGroup(int size, bool recoverable) : local_(size), recoverable_(recoverable) {
    for (int r = 0; r < size; ++r) ranks_.push_back(std::make_unique<FaultyCommunicator>(local_.rank(r)));
  }
  int size() const override { return local_.size(); }
  Communicator& rank(int r) override { return *ranks_[r]; }
  void abort() override { local_.abort(); }
  // Not recoverable: what an NCCL group is after ncclCommAbort.
  bool recover() override { return local_.recover() && recoverable_; }
  FaultyCommunicator& faulty(int r) { return *ranks_[r]; }

 private:
  LocalCommunicatorGroup local_;
  bool recoverable_;
  std::vector<std::unique_ptr<FaultyCommunicator>> ranks_;
};

}  // namespace turbolm::testing_util
