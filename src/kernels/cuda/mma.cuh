// Tensor-core and cp.async primitives for sm_80+ (mma.sync, ldmatrix, movmatrix, cp.async, L2 cache policies),
// shared by the tensor-core kernels (attention_prefill.cu, attention_decode_streamed.cu, linear_skinny.cu).
//
// Fragment notation: in a warp, lane = 4 g + t (g = lane / 4 in 0..7, t = lane % 4 in 0..3). A register of b16
// pairs holds two adjacent elements, the lower index in the low half.
#pragma once

#include "kernels/cuda/common.cuh"

namespace turbolm::cuda {

// c[16 x 8] += a[16 x 16] . b[16 x 8] (T = bf16 / f16 operands, f32 accumulators).
//   a: {(row g, k 2t..2t+1), (row g + 8, k 2t..), (row g, k 2t + 8..), (row g + 8, k 2t + 8..)}
//   b0: (k 2t..2t+1, col g), b1: (k 2t + 8.., col g);  c: {(g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1)}
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma_16816<bf16_t>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma_16816<f16_t>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats as one b16 pair of T (round to nearest), `lo` in the low half: one fragment register.
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack2<bf16_t>(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}
template <>
__device__ __forceinline__ uint32_t pack2<f16_t>(float lo, float hi) {
  const __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// The inverse of pack2: {low half, high half} of a T pair as floats (exact).
template <typename T>
__device__ __forceinline__ float2 unpack2(uint32_t x);
template <>
__device__ __forceinline__ float2 unpack2<bf16_t>(uint32_t x) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x));
}
template <>
__device__ __forceinline__ float2 unpack2<f16_t>(uint32_t x) {
  return __half22float2(*reinterpret_cast<const __half2*>(&x));
}

// Four 8 x 8 b16 matrices from shared memory: lane i gives the address of row i % 8 of matrix i / 8 (16 bytes,
// 16-byte aligned); r[j] = matrix j in fragment layout, (row g, cols 2t..2t+1).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
// As ldmatrix_x4, each matrix transposed: r[j] = (rows 2t..2t+1, col g) of matrix j.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// The transpose of an 8 x 8 b16 matrix held in fragment layout (row g, cols 2t..2t+1), in the same layout.
__device__ __forceinline__ uint32_t transpose_8x8(uint32_t x) {
  uint32_t y;
  asm volatile("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(y) : "r"(x));
  return y;
}

// 16 bytes global -> shared (both 16-byte aligned), bypassing L1; the first src_bytes (0 or 16) are read, the rest
// of the 16 written as zeros (0: nothing read, `src` need not be valid memory).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int src_bytes) {
  const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
}
// 8 bytes global -> shared (both 8-byte aligned; .cg takes only 16), through L1; src_bytes 0 or 8, as cp_async_16.
__device__ __forceinline__ void cp_async_8(void* dst, const void* src, int src_bytes) {
  const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
}
// As cp_async_16, with an L2 cache policy (l2_evict_first_policy).
__device__ __forceinline__ void cp_async_16_cache_hint(void* dst, const void* src, int src_bytes, uint64_t policy) {
  const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(d), "l"(src), "r"(src_bytes),
               "l"(policy)
               : "memory");
}
// Closes this thread's cp.async copies issued since the last commit into one group.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N of this thread's committed groups are pending. Other threads' copies become visible
// after a barrier (__syncthreads, or __syncwarp among the lanes of one warp).
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// L2 policy for data read once (streamed weights): evicted before other lines, so it does not push out what is
// reused.
__device__ __forceinline__ uint64_t l2_evict_first_policy() {
  uint64_t policy;
  asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

}  // namespace turbolm::cuda
