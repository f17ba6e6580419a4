// rope: rotates q and k in place with table.inv_freq as given (dynamic NTK / longrope tables are resolved by
// the caller through RopeTable::for_seq_len, which needs host positions).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/rope_args.cuh"

namespace turbolm::cuda {
namespace {

// One block per token; thread (i, head slot) rotates pair i of heads slot, slot + heads_per_pass, ...
// The angle is the f32 product position * inv_freq, as transformers computes it.
template <typename T>
__global__ void rope_kernel(T* __restrict__ q, T* __restrict__ k, const int32_t* __restrict__ positions,
                            const __grid_constant__ RopeArgs args) {
  begin_dependent_kernel();
  const int64_t t = blockIdx.x;
  const int i = threadIdx.x % args.half_rotary;
  const int slot = threadIdx.x / args.half_rotary, slots = blockDim.x / args.half_rotary;
  if (slot >= slots) return;
  float sin_v, cos_v;
  sincosf(__fmul_rn(static_cast<float>(positions[t]), args.inv_freq[i]), &sin_v, &cos_v);
  cos_v *= args.scaling;
  sin_v *= args.scaling;
  const int lo = args.neox ? i : 2 * i, hi = args.neox ? i + args.half_rotary : 2 * i + 1;
  for (int h = slot; h < args.q_heads + args.k_heads; h += slots) {
    T* head = h < args.q_heads ? q + (t * args.q_heads + h) * args.head_dim
                               : k + (t * args.k_heads + (h - args.q_heads)) * args.head_dim;
    const float x0 = to_float(head[lo]), x1 = to_float(head[hi]);
    head[lo] = from_float<T>(x0 * cos_v - x1 * sin_v);
    head[hi] = from_float<T>(x1 * cos_v + x0 * sin_v);
  }
}

template <typename T>
void launch_rope(T* q, T* k, const int32_t* positions, int64_t tokens, const RopeArgs& args, cudaStream_t stream) {
  if (tokens == 0) return;
  const int slots = std::max(1, std::min(args.q_heads + args.k_heads, 256 / args.half_rotary));
  launch_dependent(rope_kernel<T>, static_cast<unsigned>(tokens), slots * args.half_rotary, 0, stream, q, k, positions,
                   args);
}

}  // namespace

void rope(const ExecContext& ctx, Tensor& q, Tensor& k, const Tensor& positions, const RopeTable& table) {
  check_on_device(q, "rope", "q");
  check_on_device(k, "rope", "k");
  check_on_device(positions, "rope", "positions");
  TLM_CHECK(positions.dtype() == DType::kI32) << "rope: positions must be i32, got " << positions.to_string();
  const RopeArgs args =
      rope_args(table, static_cast<int>(q.dim(-1)), static_cast<int>(q.dim(1)), static_cast<int>(k.dim(1)), "rope");
  dispatch_float(q.dtype(), "rope", [&]<typename T>(T) {
    launch_rope<T>(static_cast<T*>(q.data()), static_cast<T*>(k.data()), static_cast<const int32_t*>(positions.data()),
                   q.dim(0), args, stream_of(ctx));
  });
}

namespace {
template void launch_rope<float>(float*, float*, const int32_t*, int64_t, const RopeArgs&, cudaStream_t);
template void launch_rope<bf16_t>(bf16_t*, bf16_t*, const int32_t*, int64_t, const RopeArgs&, cudaStream_t);
template void launch_rope<f16_t>(f16_t*, f16_t*, const int32_t*, int64_t, const RopeArgs&, cudaStream_t);
}  // namespace

}  // namespace turbolm::cuda
