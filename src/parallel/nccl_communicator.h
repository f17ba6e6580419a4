// Tensor-parallel collectives over NCCL (built only with the CUDA backend). One NcclCommunicator per rank,
// each used from the thread that drives that rank's GPU; collectives are enqueued on ExecContext::stream.
// CUDA-free header: the NCCL handle is opaque here.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "parallel/communicator.h"

namespace turbolm {

// ncclUniqueId's bytes (NCCL_UNIQUE_ID_BYTES): made on one rank, shared with all (tcp_bootstrap.h across nodes).
using NcclUniqueId = std::array<char, 128>;

// Keeps NVLink SHARP multicast off (NCCL_NVLS_ENABLE=0) unless the user set the variable: called before any
// NCCL communicator is created, since NCCL reads it at init.
void disable_nccl_nvls_unless_set();

NcclUniqueId nccl_unique_id();

class NcclCommunicator final : public Communicator {
 public:
  // Joins group `id` as `rank` of `size` on CUDA device `device` (made current on the calling thread). Blocks
  // until all ranks joined: call it concurrently from every rank's thread or process.
  NcclCommunicator(const NcclUniqueId& id, int rank, int size, int device);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  // One process driving `size` local GPUs 0..size-1 (one thread per GPU afterwards): rank r on GPU r.
  static std::vector<std::unique_ptr<NcclCommunicator>> create_local_group(int size);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int device() const { return device_; }
  void all_reduce_sum(const ExecContext& ctx, Tensor& x) override;
  void all_gather(const ExecContext& ctx, const Tensor& shard, Tensor& full) override;
  // ncclCommAbort: kills this rank's queued and running collectives (peers of a failed rank wait in them on the
  // GPU). Callable from another thread, as PyTorch's NCCL watchdog does; a collective that has already passed
  // its check while this runs is not protected. Later collectives throw kCancelled.
  void abort();

 private:
  NcclCommunicator(void* comm, int rank, int size, int device);
  void check_not_aborted() const;

  void* comm_;  // ncclComm_t
  std::atomic<bool> aborted_{false};
  int rank_;
  int size_;
  int device_;
  Tensor staging_;  // u8 on device_: all_gather's rank-major [size, R, C] before it is laid out as [R, size*C]
};

// GPUs 0..size-1 of this process, rank r on GPU r, for TensorParallelModel. An abort is final: NCCL
// communicators cannot be reused after ncclCommAbort, so recover() returns false.
class NcclLocalGroup final : public CommunicatorGroup {
 public:
  explicit NcclLocalGroup(int size) : comms_(NcclCommunicator::create_local_group(size)) {}
  int size() const override { return static_cast<int>(comms_.size()); }
  Communicator& rank(int r) override { return *comms_.at(r); }
  void bind_thread(int r) override;  // cudaSetDevice(r)
  void abort() override;
  bool recover() override { return false; }

 private:
  std::vector<std::unique_ptr<NcclCommunicator>> comms_;
};

}  // namespace turbolm
