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

// Shape checks shared by the implementations.
void check_all_gather_shapes(const Tensor& shard, const Tensor& full, int size);

}  // namespace turbolm
