// An in-process tensor-parallel group: `size` ranks, each driven by its own thread, exchanging host tensors
// through shared memory. Used by the CPU tests that simulate tp=N on one machine (tests/unit/models/tp_*) and by
// TensorParallelModel on the CPU. Sums run in f32 in rank order, so every rank gets bit-identical results.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "parallel/communicator.h"

namespace turbolm {

class LocalCommunicatorGroup final : public CommunicatorGroup {
 public:
  explicit LocalCommunicatorGroup(int size);
  ~LocalCommunicatorGroup() override;
  LocalCommunicatorGroup(const LocalCommunicatorGroup&) = delete;
  LocalCommunicatorGroup& operator=(const LocalCommunicatorGroup&) = delete;

  int size() const override { return static_cast<int>(ranks_.size()); }
  Communicator& rank(int r) override;
  void abort() override;
  // Always succeeds: once no thread is inside a collective, clearing the barrier restores the group.
  bool recover() override;

 private:
  class Rank;
  friend class Rank;

  // std::barrier cannot be interrupted; this one throws kCancelled once abort() was called.
  void arrive_and_wait();

  std::mutex mutex_;
  std::condition_variable all_arrived_;
  int arrived_ = 0;
  uint64_t phase_ = 0;
  bool aborted_ = false;
  std::vector<const Tensor*> published_;  // [size]: each rank's input of the collective in flight
  std::vector<std::unique_ptr<Rank>> ranks_;
};

}  // namespace turbolm
