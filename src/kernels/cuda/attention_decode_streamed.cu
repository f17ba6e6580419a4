// Paged decode attention over a plain (bf16 / f16) cache, built to stream K/V at HBM speed: flash-decoding with
// a cp.async pipeline, one pass over memory.
//
//  * Block = (sequence, kv head, context split), 4 warps, all query heads of the kv head (GQA group G <= 8).
//    The split's tokens are cut into chunks of 16; warp w takes chunks w, w + 4, w + 8, ... and runs its own
//    pipeline: a ring of kStages shared-memory stages, each holding one chunk's K rows and V rows ([16][D] each,
//    copied with 16-byte cp.async.cg; tokens past the split are zero-filled). The warp issues kStages - 1 chunks
//    ahead, so V is in flight while the scores of earlier chunks are computed, and needs only __syncwarp.
//  * Bytes in flight: 96 KB of stages per block (3 stages of 32 KB for D = 128, 6 of 16 KB for D = 64), of which
//    ~64-80 KB are being copied at any time; two blocks per SM keep ~130-160 KB in flight per SM, several times
//    what HBM3 needs (~3 TB/s x ~1.5 us / 132 SMs = ~35 KB). The classic kernel (attention_decode.cu) keeps ~16 KB
//    in flight per block and reads K, then V, in two passes.
//  * Math on tensor cores (mma.sync m16n8k16, f32 accumulation), heads in the n dimension (8 = the widest group,
//    narrower groups are zero-padded): S^T[16 tokens, 8 heads] = K[16, D] . Q^T and O^T[D, 8] += V^T . P^T,
//    K and V^T fragments by ldmatrix from XOR-swizzled rows (conflict-free), P^T fragments from the score
//    accumulators by one movmatrix transpose per 8 tokens. Online softmax per warp (running max and sum per head,
//    exp2 of scores scaled by scale_log2); P rounds to T for the second product (like flash attention).
//  * The warps' (max, sum, O) merge in shared memory at the end; the block writes `out` directly, or, when the
//    context is split across blocks, a normalised partial and its (max, sum) for combine_kernel
//    (attention_combine.cuh, shared with the classic kernel).
#include <algorithm>

#include "kernels/cuda/attention_combine.cuh"

namespace turbolm::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kChunk = 16;                       // tokens per warp and stage: the m of one mma tile
constexpr int kGroup = kStreamedDecodeMaxGroup;  // query heads per block: the n of the mma
constexpr int kBlocksPerSm = 2;
constexpr int kStageBytesPerBlock = 96 * 1024;
constexpr int kMaxSplit = 1024;  // tokens per block: its slots are gathered into shared memory first
constexpr int kSplitQuantum = kWarps * kChunk;
static_assert(kGroup == 8, "the mma's n dimension holds the group");

// One stage of one warp: K rows then V rows of a chunk, [kChunk][D] elements each (2-byte T).
template <int D>
constexpr int stage_bytes() {
  return 2 * kChunk * D * 2;
}
template <int D>
constexpr int stages() {
  return kStageBytesPerBlock / (kWarps * stage_bytes<D>());
}
// Stages of every warp, then the split's cache slots (int32: a cache has far fewer than 2^31 slots).
constexpr size_t kSharedBytes = size_t{kStageBytesPerBlock} + kMaxSplit * sizeof(int32_t);
static_assert(stages<64>() >= 3 && stages<128>() >= 3);
static_assert(kBlocksPerSm * (kSharedBytes + 1024) <= 228 * 1024, "two blocks per H100 SM (1 KB reserved each)");

// 16 bytes global -> shared, bypassing L1; src_bytes 0 writes zeros and reads nothing.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int src_bytes) {
  const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N of this thread's committed groups are pending.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// Four 8x8 b16 matrices from shared memory; lane i gives the address of row i % 8 of matrix i / 8.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
// The transpose of an 8x8 b16 matrix held in mma fragment layout (lane i: row i / 4, columns 2 (i % 4) + {0, 1}).
__device__ __forceinline__ uint32_t transpose_8x8(uint32_t x) {
  uint32_t y;
  asm volatile("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(y) : "r"(x));
  return y;
}

// c[16 x 8] += a[16 x 16] . b[16 x 8], f32 accumulation.
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

// Two floats as T in one register, `lo` in the low half (the lower k or n index of a fragment pair).
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

// Element offset of 8-element piece `piece` of row `row` in a [kChunk][D] tile: pieces XOR-swizzled by row % 8,
// so that the 8 rows one ldmatrix reads (same piece) and a row's cp.async stores hit distinct banks.
template <int D>
__device__ __forceinline__ int tile_offset(int row, int piece) {
  return row * D + ((piece ^ (row & 7)) << 3);
}

// One warp's running state over the heads 2 (lane % 4) + {0, 1} it holds in the mma layouts.
template <int D>
struct WarpSoftmax {
  float o[D / 16][4] = {};  // O^T fragments: [d tile][(d, h0), (d, h1), (d + 8, h0), (d + 8, h1)], d = lane / 4
  float m[2] = {-INFINITY, -INFINITY};  // running max of the scaled scores
  float l[2] = {0.0f, 0.0f};            // this lane's share of the running sum (summed over lanes at the end)
};

// A warp's state in shared memory for the merge: O [kGroup][D], then m [kGroup], then l [kGroup] (floats).
template <int D>
constexpr int m_offset() {
  return kGroup * D;
}
template <int D>
constexpr int l_offset() {
  return m_offset<D>() + kGroup;
}
template <int D>
__device__ __forceinline__ void write_warp_state(float* state, const WarpSoftmax<D>& st) {
  const int lane = threadIdx.x & 31, h0 = 2 * (lane & 3), d0 = lane >> 2;
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) {
#pragma unroll
    for (int i = 0; i < 4; ++i) state[(h0 + (i & 1)) * D + mt * 16 + d0 + (i >> 1) * 8] = st.o[mt][i];
  }
  if (lane < 4) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      state[m_offset<D>() + h0 + h] = st.m[h];
      state[l_offset<D>() + h0 + h] = st.l[h];
    }
  }
}

// One chunk of a warp: scores of its 16 tokens (`valid` of them real) for the 8 heads, online softmax update,
// then O^T += V^T . P^T. k_tile / v_tile: the stage's swizzled [kChunk][D] rows. q_frag: Q^T as mma b operands.
template <typename T, int D>
__device__ __forceinline__ void attend_chunk(const T* k_tile, const T* v_tile, const uint32_t (&q_frag)[D / 16][2],
                                             int valid, float scale_log2, WarpSoftmax<D>& st) {
  const int lane = threadIdx.x & 31;
  // S^T = K . Q^T: c = (token lane / 4, heads h0, h1), (token lane / 4 + 8, heads h0, h1).
  float c[4] = {};
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    uint32_t a[4];  // matrices: tokens 0-7 / 8-15 x d pieces 2 kk / 2 kk + 1
    ldmatrix_x4(a, k_tile + tile_offset<D>(lane & 15, 2 * kk + (lane >> 4)));
    mma_16816<T>(c, a, q_frag[kk][0], q_frag[kk][1]);
  }
  const int token = lane >> 2;
  float s[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) s[i] = token + (i >> 1) * 8 < valid ? c[i] * scale_log2 : -INFINITY;

  // Online softmax per head: the 8 lanes with the same lane % 4 hold the same two heads. Token 0 is always
  // valid, so the new max is finite; the first chunk's rescale is exp2(-inf) = 0.
  float alpha[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float mx = fmaxf(s[h], s[h + 2]);
#pragma unroll
    for (int o = 4; o < 32; o <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    const float m_new = fmaxf(st.m[h], mx);
    alpha[h] = exp2f(st.m[h] - m_new);
    st.m[h] = m_new;
  }
  float pr[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) pr[i] = exp2f(s[i] - st.m[i & 1]);
#pragma unroll
  for (int h = 0; h < 2; ++h) st.l[h] = st.l[h] * alpha[h] + pr[h] + pr[h + 2];

  // P^T as the b operand (k = token, n = head): the transposes of the two 8 x 8 score blocks.
  const uint32_t p_lo = transpose_8x8(pack2<T>(pr[0], pr[1]));  // tokens 0-7
  const uint32_t p_hi = transpose_8x8(pack2<T>(pr[2], pr[3]));  // tokens 8-15
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) {
#pragma unroll
    for (int i = 0; i < 4; ++i) st.o[mt][i] *= alpha[i & 1];
    // V^T (m = d, k = token) by transposed loads; matrices: d pieces 2 mt / 2 mt + 1 x tokens 0-7 / 8-15.
    uint32_t a[4];
    ldmatrix_x4_trans(a, v_tile + tile_offset<D>(((lane >> 4) << 3) + (lane & 7), 2 * mt + ((lane >> 3) & 1)));
    mma_16816<T>(st.o[mt], a, p_lo, p_hi);
  }
}

// Q^T of the block's heads as mma b operands: [d step][b0, b1] = q_group[head lane / 4][16 kk + 2 (lane % 4) +
// {0, 1} (+ 8)]; heads past the group are zero. q_group: [group, D], the query rows of the block's heads.
template <typename T, int D>
__device__ __forceinline__ void load_q_fragments(const T* q_group, int group, uint32_t (&q_frag)[D / 16][2]) {
  const int lane = threadIdx.x & 31, head = lane >> 2;
  const T* row = q_group + min(head, group - 1) * D + 2 * (lane & 3);
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    q_frag[kk][0] = head < group ? *reinterpret_cast<const uint32_t*>(row + 16 * kk) : 0u;
    q_frag[kk][1] = head < group ? *reinterpret_cast<const uint32_t*>(row + 16 * kk + 8) : 0u;
  }
}

// Writes element d of head `head`'s output o (already divided by its sum) and, with d == 0, its ml = {max, sum}:
// to `out` when the context is not split, else to the partials.
template <typename T, int D>
__device__ __forceinline__ void write_head_result(const AttentionParams& p, int s, int head, int split, int num_splits,
                                                  int d, float o, float2 ml, T* out, float* part_o, float2* part_ml) {
  if (num_splits == 1) {
    out[(int64_t{p.query_start[s]} * p.q_heads + head) * D + d] = from_float<T>(o);
  } else {
    const int64_t part = decode_partial_index(s, p.q_heads, head, num_splits, split);
    part_o[part * D + d] = o;
    if (d == 0) part_ml[part] = ml;
  }
}

// A split without tokens weighs nothing in the merge: only its {max, sum} = (-inf, 0) is written (combine_kernel
// skips its o). Graphed decode steps size the split grid for the widest block table, so most blocks may end here.
// An empty context that is not split gives zeros.
template <typename T, int D>
__device__ __forceinline__ void write_empty_result(const AttentionParams& p, int s, int head0, int group, int split,
                                                   int num_splits, T* out, float2* part_ml) {
  if (num_splits > 1) {
    for (int g = threadIdx.x; g < group; g += kThreads)
      part_ml[decode_partial_index(s, p.q_heads, head0 + g, num_splits, split)] = make_float2(-INFINITY, 0.0f);
  } else {
    for (int i = threadIdx.x; i < group * D; i += kThreads)
      out[(int64_t{p.query_start[s]} * p.q_heads + head0 + i / D) * D + i % D] = from_float<T>(0.0f);
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm)
    streamed_decode_kernel(const T* __restrict__ q, const KvLayer<T, KvQuant::kNone> kv, const AttentionParams p,
                           int split_len, int num_splits, T* __restrict__ out, float* __restrict__ part_o,
                           float2* __restrict__ part_ml) {
  begin_dependent_kernel();
  constexpr int kStages = stages<D>();
  constexpr int kPiecesPerRow = D / 8;  // 16-byte pieces of a K or V row
  constexpr int kPiecesPerLane = kChunk * kPiecesPerRow / 32;
  static_assert((l_offset<D>() + kGroup) * sizeof(float) <= kStages * stage_bytes<D>(), "merge state fits a ring");
  extern __shared__ __align__(16) unsigned char smem[];
  const int s = blockIdx.x, kv_head = blockIdx.y, split = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int group = p.q_heads / p.kv_heads, head0 = kv_head * group;
  const int begin = split * split_len;
  const int n = max(min(p.context_lens[s] - begin, split_len), 0);  // tokens of this split
  if (n == 0) {
    write_empty_result<T, D>(p, s, head0, group, split, num_splits, out, part_ml);
    return;
  }

  int32_t* slots = reinterpret_cast<int32_t*>(smem + kStageBytesPerBlock);  // [n] cache slot of each token
  const int32_t* table = p.block_tables + int64_t{s} * p.table_stride;
  for (int i = threadIdx.x; i < n; i += kThreads)
    slots[i] = table[(begin + i) / p.block_size] * p.block_size + (begin + i) % p.block_size;
  uint32_t q_frag[D / 16][2];
  load_q_fragments<T, D>(q + (int64_t{p.query_start[s]} * p.q_heads + head0) * D, group, q_frag);
  __syncthreads();

  // This warp's chunks: w, w + kWarps, ... below ceil(n / kChunk); its i-th chunk goes to stage i % kStages.
  T* ring = reinterpret_cast<T*>(smem + warp * kStages * stage_bytes<D>());
  const int chunks = (n + kChunk - 1) / kChunk;
  const int my_chunks = warp < chunks ? (chunks - warp + kWarps - 1) / kWarps : 0;
  const T* key = static_cast<const T*>(kv.key);
  const T* value = static_cast<const T*>(kv.value);
  auto issue = [&](int i) {
    T* k_tile = ring + (i % kStages) * (2 * kChunk * D);
    T* v_tile = k_tile + kChunk * D;
    const int first = (warp + i * kWarps) * kChunk;
#pragma unroll
    for (int j = 0; j < kPiecesPerLane; ++j) {
      const int row = (lane + 32 * j) / kPiecesPerRow, piece = lane % kPiecesPerRow;
      const bool real = first + row < n;
      const int64_t src = real ? (int64_t{slots[first + row]} * kv.heads + kv_head) * D + piece * 8 : 0;
      cp_async_16(k_tile + tile_offset<D>(row, piece), key + src, real ? 16 : 0);
      cp_async_16(v_tile + tile_offset<D>(row, piece), value + src, real ? 16 : 0);
    }
  };

  // Every iteration commits one group (empty past the last chunk), so waiting for all but kStages - 1 groups
  // means chunk i has landed.
  WarpSoftmax<D> st;
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < my_chunks) issue(i);
    cp_async_commit();
  }
  for (int i = 0; i < my_chunks; ++i) {
    if (i + kStages - 1 < my_chunks) issue(i + kStages - 1);  // into the stage chunk i - 1 used
    cp_async_commit();
    cp_async_wait<kStages - 1>();
    __syncwarp();  // every lane's copies of chunk i are visible to the whole warp
    const T* k_tile = ring + (i % kStages) * (2 * kChunk * D);
    attend_chunk<T, D>(k_tile, k_tile + kChunk * D, q_frag, min(kChunk, n - (warp + i * kWarps) * kChunk), p.scale_log2,
                       st);
    __syncwarp();  // every lane is done reading the stage before it is refilled
  }
  cp_async_wait<0>();

  // Merge the warps: each writes (O, m, l) of its 8 heads over its own ring, then every thread merges some (g, d).
#pragma unroll
  for (int h = 0; h < 2; ++h) {
#pragma unroll
    for (int o = 4; o < 32; o <<= 1) st.l[h] += __shfl_xor_sync(0xffffffffu, st.l[h], o);
  }
  write_warp_state<D>(reinterpret_cast<float*>(ring), st);
  __syncthreads();

  constexpr int kWarpFloats = kStages * stage_bytes<D>() / sizeof(float);  // stride between the warps' rings
  const float* merged = reinterpret_cast<const float*>(smem);
  for (int i = threadIdx.x; i < group * D; i += kThreads) {
    const int g = i / D, d = i % D;
    float m = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) m = fmaxf(m, merged[w * kWarpFloats + m_offset<D>() + g]);
    // m is finite (warp 0 saw token 0); a warp without tokens has m = -inf, l = 0, O = 0 and weighs 0.
    float l = 0.0f, o = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float* state = merged + w * kWarpFloats;
      const float scale = exp2f(state[m_offset<D>() + g] - m);
      l += state[l_offset<D>() + g] * scale;
      o += state[g * D + d] * scale;
    }
    write_head_result<T, D>(p, s, head0 + g, split, num_splits, d, o / l, make_float2(m, l), out, part_o, part_ml);
  }
}

// Tokens per split: enough splits for kBlocksPerSm blocks on every multiprocessor, each a multiple of
// kSplitQuantum tokens (one chunk per warp), at most kMaxSplit.
int split_length(const AttentionParams& p, int max_context_len) {
  const int64_t blocks_without_split = int64_t{p.num_seqs} * p.kv_heads;
  const int64_t wanted =
      std::max<int64_t>(1, ceil_div(int64_t{kBlocksPerSm} * multiprocessor_count(), blocks_without_split));
  return static_cast<int>(std::clamp<int64_t>(
      ceil_div(ceil_div(max_context_len, wanted), kSplitQuantum) * kSplitQuantum, kSplitQuantum, kMaxSplit));
}

}  // namespace

template <typename T, int D>
void launch_decode_attention_streamed(const T* q, const KvLayer<T, KvQuant::kNone>& kv, const AttentionParams& p,
                                      int max_context_len, T* out, cudaStream_t stream) {
  if (p.num_seqs == 0 || max_context_len == 0) return;
  TLM_CHECK(p.q_heads % p.kv_heads == 0 && p.q_heads / p.kv_heads <= kGroup)
      << "streamed decode attention: " << p.q_heads << " query heads over " << p.kv_heads << " kv heads (groups up to "
      << kGroup << ")";
  const int split_len = split_length(p, max_context_len);
  const int num_splits = static_cast<int>(ceil_div(max_context_len, split_len));
  const DecodePartials partials(p, num_splits, D);
  ensure_max_dynamic_shared_memory(reinterpret_cast<const void*>(streamed_decode_kernel<T, D>), kSharedBytes);
  launch_dependent(streamed_decode_kernel<T, D>, dim3(p.num_seqs, p.kv_heads, num_splits), kThreads, kSharedBytes,
                   stream, q, kv, p, split_len, num_splits, out, partials.o(), partials.ml());
  if (num_splits > 1) launch_decode_combine<T, D>(partials, p, num_splits, out, stream);
}

#define TLM_INSTANTIATE_STREAMED_DECODE(T, D)                                                       \
  template void launch_decode_attention_streamed<T, D>(const T*, const KvLayer<T, KvQuant::kNone>&, \
                                                       const AttentionParams&, int, T*, cudaStream_t);
TLM_INSTANTIATE_STREAMED_DECODE(bf16_t, 64)
TLM_INSTANTIATE_STREAMED_DECODE(bf16_t, 128)
TLM_INSTANTIATE_STREAMED_DECODE(f16_t, 64)
TLM_INSTANTIATE_STREAMED_DECODE(f16_t, 128)
#undef TLM_INSTANTIATE_STREAMED_DECODE

}  // namespace turbolm::cuda
