// An in-process tensor-parallel group: `size` ranks, each driven by its own thread, exchanging host tensors
// through shared memory. Used by the CPU tests that simulate tp=N on one machine (tests/unit/models/tp_*).
// Sums run in f32 in rank order, so every rank gets bit-identical results.
#pragma once

#include <barrier>
#include <memory>
#include <vector>

#include "parallel/communicator.h"

namespace turbolm {

class LocalCommunicatorGroup {
 public:
  explicit LocalCommunicatorGroup(int size);
  ~LocalCommunicatorGroup();
  LocalCommunicatorGroup(const LocalCommunicatorGroup&) = delete;
  LocalCommunicatorGroup& operator=(const LocalCommunicatorGroup&) = delete;

  int size() const { return static_cast<int>(ranks_.size()); }
  // Rank r's endpoint; call its collectives only from the thread driving rank r.
  Communicator& rank(int r);

 private:
  class Rank;
  friend class Rank;

  std::barrier<> barrier_;
  std::vector<const Tensor*> published_;  // [size]: each rank's input of the collective in flight
  std::vector<std::unique_ptr<Rank>> ranks_;
};

}  // namespace turbolm
