// Collectives between the ranks of one tensor-parallel group (DESIGN.md §6). Every rank calls the same
// collectives in the same order with same-shaped tensors; a call returns once this rank's output is ready
// (on CUDA: enqueued on ctx.stream).
#pragma once

#include "core/tensor.h"
#include "ops/exec_context.h"

namespace turbolm {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // x (contiguous, f32 | bf16 | f16, same shape on every rank) <- the element-wise sum over all ranks.
  virtual void all_reduce_sum(const ExecContext& ctx, Tensor& x) = 0;

  // shard: [R, C] on every rank; full: [R, size * C] with full[:, r*C : (r+1)*C] = rank r's shard.
  // (The vocab-parallel lm_head's logits: each rank holds a column block of every row.)
  virtual void all_gather(const ExecContext& ctx, const Tensor& shard, Tensor& full) = 0;
};

// All ranks of a group that one process drives, one thread per rank (models/tensor_parallel_model.h). A rank
// that fails mid-step leaves its peers waiting in a collective it will never join: abort() releases them.
class CommunicatorGroup {
 public:
  virtual ~CommunicatorGroup() = default;
  virtual int size() const = 0;
  // Rank r's endpoint; call its collectives only from the thread driving rank r.
  virtual Communicator& rank(int r) = 0;
  // Prepares the calling thread to drive rank r (NCCL: makes GPU r current). Called before each use.
  virtual void bind_thread(int r) {}
  // A rank failed: every rank waiting in a collective, or entering one later, throws kCancelled instead of
  // waiting forever. Thread-safe; called from the failing rank's thread while the others may still run.
  virtual void abort() = 0;
  // After abort(), once every rank's thread has returned: makes the group usable again; false when it cannot be.
  virtual bool recover() = 0;
};

// Shape checks shared by the implementations.
void check_all_gather_shapes(const Tensor& shard, const Tensor& full, int size);

}  // namespace turbolm
