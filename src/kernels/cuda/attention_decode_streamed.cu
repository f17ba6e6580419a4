// Paged decode attention built to stream K/V at HBM speed, for plain (bf16 / f16) and quantized (int8 / int4)
// caches: flash-decoding with a cp.async pipeline, one pass over memory.
//
//  * Block = (sequence, kv head, context split), 4 warps, all query heads of the kv head (GQA group G <= 8).
//    The split's tokens are cut into chunks of 16; warp w takes chunks w, w + 4, w + 8, ... and runs its own
//    pipeline: a ring of kStages shared-memory stages, each holding one chunk's K rows and V rows as stored
//    ([16][row bytes] each: 2 D bytes plain, D int8, D / 2 int4; 16-byte cp.async.cg) and, for quantized caches,
//    the chunk's 16 K and 16 V {scale, zero} (8-byte cp.async.ca); tokens past the split are zero-filled. The warp
//    issues kStages - 1 chunks ahead, so V is in flight while the scores of earlier chunks are computed, and needs
//    only __syncwarp.
//  * Bytes in flight: up to 96 KB of stages per block (plain: 3 stages of 32 KB for D = 128, 6 of 16 KB for D = 64;
//    int8 D = 128: 5 of 17 KB; int8 D = 64, int4 D = 128: 8 of 9 KB; int4 D = 64: 8 of 5 KB), of which all but one
//    stage per warp are being copied at any time: two blocks per SM keep ~70-160 KB in flight per SM, more than what
//    HBM3 needs (~3 TB/s x ~1.5 us / 132 SMs = ~35 KB). The classic kernel (attention_decode.cu) keeps ~16 KB in
//    flight per block and reads K, then V, in two passes.
//  * Math on tensor cores (mma.sync m16n8k16, f32 accumulation), heads in the n dimension (8 = the widest group,
//    narrower groups are zero-padded): S^T[16 tokens, 8 heads] = K[16, D] . Q^T and O^T[D, 8] += V^T . P^T,
//    K and V^T fragments by ldmatrix from XOR-swizzled rows (conflict-free), P^T fragments from the score
//    accumulators by one movmatrix transpose per 8 tokens. Online softmax per warp (running max and sum per head,
//    exp2 of scores scaled by scale_log2); P rounds to T for the second product (like flash attention).
//  * Quantized caches: the mma runs on the stored integers q themselves, converted in registers to T (exact: int8
//    in [-128, 127], int4 in [0, 15]), and the per-token scale and zero come out of the sums:
//        score = scale_k (q_k . Q - zero_k sum(Q)),    O = sum_tok P' q_v - sum_tok zero_v P'  with P' = scale_v P.
//    P' rounds to T like P, and the zero term uses the rounded P', so O is exactly sum P' (q_v - zero_v).
//    Why not dequantize each chunk into a T tile in shared memory first: that is a shared-memory round trip and a
//    multiply-add per element; here an element costs only its integer -> T conversion (int8: 2 ops per pair for
//    f16, 5 for bf16 through f32; int4: 2-3), scale and zero cost a few ops per token, and the raw bytes use the
//    plain cache's tile layout, swizzle and ldmatrix addressing (conflict-free). Because an ldmatrix register then
//    holds 4 consecutive d of one token (K: 8 nibbles for int4) or 2 tokens x 2 consecutive d (V^T: x 4 nibbles),
//    the k order of the score product is permuted (Q's fragments are loaded in the same order; any order gives the
//    same dot products) and the d rows of O come out permuted, undone where the warp writes its state (o_row_d).
//  * The warps' (max, sum, O) merge in shared memory at the end; the block writes `out` directly, or, when the
//    context is split across blocks, a normalised partial and its (max, sum) for combine_kernel
//    (attention_combine.cuh, shared with the classic kernel).
#include <algorithm>
#include <type_traits>

#include "kernels/cuda/attention_combine.cuh"
#include "kernels/cuda/kv_quant.cuh"
#include "kernels/cuda/mma.cuh"

namespace turbolm::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kChunk = 16;                       // tokens per warp and stage: the m of one mma tile
constexpr int kGroup = kStreamedDecodeMaxGroup;  // query heads per block: the n of the mma
constexpr int kBlocksPerSm = 2;
constexpr int kStageBytesPerBlock = 96 * 1024;
constexpr int kMaxStages = 8;    // a warp has at most kMaxSplit / kSplitQuantum = 16 chunks: deeper rings buy nothing
constexpr int kMaxSplit = 1024;  // tokens per block: its slots are gathered into shared memory first
constexpr int kSplitQuantum = kWarps * kChunk;
static_assert(kGroup == 8, "the mma's n dimension holds the group");

// Shared memory of one (cache kind, head dim). A K or V row of the cache is kRowBytes (2 D plain, D int8, D / 2
// int4) in kPieces 16-byte pieces. One stage of one warp: the chunk's K rows, its V rows ([kChunk][kRowBytes]
// each), then for quantized caches its K and its V {scale, zero} ([kChunk] float2 each).
template <KvQuant Q, int D>
struct Geometry {
  static constexpr int kRowBytes = Q == KvQuant::kNone ? 2 * D : kv_head_bytes<Q>(D);
  static constexpr int kPieces = kRowBytes / 16;
  static constexpr int kTileBytes = kChunk * kRowBytes;
  static constexpr int kParamBytes = Q == KvQuant::kNone ? 0 : 2 * kChunk * static_cast<int>(sizeof(float2));
  static constexpr int kStageBytes = 2 * kTileBytes + kParamBytes;
  static constexpr int kStages = std::min(kMaxStages, kStageBytesPerBlock / (kWarps * kStageBytes));
  static constexpr int kRingBytes = kStages * kStageBytes;  // one warp's stages
  // The warps' rings, then the split's cache slots (int32: a cache has far fewer than 2^31 slots).
  static constexpr size_t kSharedBytes = size_t{kWarps} * kRingBytes + kMaxSplit * sizeof(int32_t);
  static_assert(kPieces % 2 == 0, "one ldmatrix.x4 reads two pieces of the chunk's 16 rows");
  static_assert(kStages >= 3);
  static_assert(kBlocksPerSm * (kSharedBytes + 1024) <= 228 * 1024, "two blocks per H100 SM (1 KB reserved each)");
};

// Byte offset of 16-byte piece `piece` of row `row` in a tile of rows of P pieces, XOR-swizzled within 128-byte lines
// so that the 8 rows one ldmatrix reads (same piece) and the 8 pieces 8 consecutive lanes copy hit distinct banks:
// rows of 8 or more pieces swizzle their pieces by row % 8; shorter rows share a line and swizzle by line.
template <int P>
__device__ __forceinline__ int tile_offset(int row, int piece) {
  if constexpr (P >= 8) {
    return (row * P + (piece ^ (row & 7))) * 16;
  } else {
    const int unit = row * P + piece;
    return (unit ^ ((unit >> 3) & 7)) * 16;
  }
}

// a - b on T pairs.
template <typename T>
__device__ __forceinline__ uint32_t sub2(uint32_t a, uint32_t b) {
  using T2 = std::conditional_t<std::is_same_v<T, f16_t>, __half2, __nv_bfloat162>;
  const T2 r = __hsub2(*reinterpret_cast<const T2*>(&a), *reinterpret_cast<const T2*>(&b));
  return *reinterpret_cast<const uint32_t*>(&r);
}

// Bytes A and B of x, int8 cache values q in [-128, 127], as a T pair (byte A's in the low half), exactly.
template <typename T, int A, int B>
__device__ __forceinline__ uint32_t int8_pair(uint32_t x) {
  const uint32_t u = x ^ 0x80808080u;  // q + 128 in [0, 255], per byte
  if constexpr (std::is_same_v<T, f16_t>) {
    // f16 0x64uu is 1024 + u (ulp 1 in [1024, 2048)); minus 1152 (0x6480) leaves q.
    return sub2<T>(__byte_perm(u, 0x64646464u, 0x4040 | A | B << 8), 0x64806480u);
  } else {
    // 8 significant bits are too few for 128 + u: through f32, where 0x4B0000uu is 2^23 + u; minus 2^23 + 128
    // leaves q, whose upper half is its bf16 (exact: an integer of magnitude <= 128).
    const float lo = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7440 | A)) - 8388736.0f;
    const float hi = __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7440 | B)) - 8388736.0f;
    return __byte_perm(__float_as_uint(lo), __float_as_uint(hi), 0x7632);
  }
}

// Nibbles J and J + 4 of x (int4 cache values in [0, 15], the low nibble of a byte first) as a T pair, exactly:
// OR-ed into the mantissa of 128 (bf16 0x4300) or 1024 (f16 0x6400), minus that number. One mask takes both.
template <typename T, int J>
__device__ __forceinline__ uint32_t int4_pair(uint32_t x) {
  constexpr uint32_t kMagic = std::is_same_v<T, f16_t> ? 0x64006400u : 0x43004300u;
  return sub2<T>(((x >> (4 * J)) & 0x000F000Fu) | kMagic, kMagic);
}

// S^T[16 tokens, 8 heads] += K . Q^T for one chunk, c = (token g, heads 2t, 2t + 1), (token g + 8, heads 2t, 2t + 1)
// (g = lane / 4, t = lane % 4); quantized: of the stored integers. The d of k step kk's positions {2t, 2t + 1} |
// {2t + 8, 2t + 9} (load_q_fragments loads Q in the same order), from what an ldmatrix register holds:
//   plain: 16 kk + {2t, 2t + 1 | 2t + 8, 2t + 9}          2 consecutive d of a token
//   int8:  16 kk + 4t + {0, 1 | 2, 3}                     4 consecutive d (bytes) of a token
//   int4:  32 (kk / 2) + 8t + 2 (kk % 2) + {0, 4 | 1, 5}  8 consecutive d (nibbles) of a token; int4_pair's pairs
template <typename T, KvQuant Q, int D>
__device__ __forceinline__ void chunk_scores(const unsigned char* k_tile, const uint32_t (&q_frag)[D / 16][2],
                                             float (&c)[4]) {
  using G = Geometry<Q, D>;
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int p = 0; p < G::kPieces; p += 2) {
    uint32_t r[4];  // matrices: tokens 0-7 / 8-15 x piece p (r[0], r[1]) / p + 1 (r[2], r[3])
    ldmatrix_x4(r, k_tile + tile_offset<G::kPieces>(lane & 15, p + (lane >> 4)));
    if constexpr (Q == KvQuant::kNone) {
      mma_16816<T>(c, r, q_frag[p / 2][0], q_frag[p / 2][1]);
    } else {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const uint32_t lo = r[2 * h], hi = r[2 * h + 1];  // piece p + h of tokens g, g + 8
        if constexpr (Q == KvQuant::kInt8) {
          const uint32_t a[4] = {int8_pair<T, 0, 1>(lo), int8_pair<T, 0, 1>(hi), int8_pair<T, 2, 3>(lo),
                                 int8_pair<T, 2, 3>(hi)};
          mma_16816<T>(c, a, q_frag[p + h][0], q_frag[p + h][1]);
        } else {
          const int kk = 2 * (p + h);
          const uint32_t a0[4] = {int4_pair<T, 0>(lo), int4_pair<T, 0>(hi), int4_pair<T, 1>(lo), int4_pair<T, 1>(hi)};
          mma_16816<T>(c, a0, q_frag[kk][0], q_frag[kk][1]);
          const uint32_t a1[4] = {int4_pair<T, 2>(lo), int4_pair<T, 2>(hi), int4_pair<T, 3>(lo), int4_pair<T, 3>(hi)};
          mma_16816<T>(c, a1, q_frag[kk + 1][0], q_frag[kk + 1][1]);
        }
      }
    }
  }
}

// The d of row `row` (0-15) of O^T m-tile mt, from what a transposed ldmatrix register of V holds:
//   plain: 16 mt + row                                    2 tokens x 1 d
//   int8:  16 mt + 2 (row % 8) + row / 8                  2 tokens x 2 consecutive d (bytes)
//   int4:  32 (mt / 2) + 4 (row % 8) + 2 (mt % 2) + row / 8   2 tokens x 4 consecutive d (nibbles)
template <KvQuant Q>
__device__ __forceinline__ int o_row_d(int mt, int row) {
  if constexpr (Q == KvQuant::kNone) return 16 * mt + row;
  if constexpr (Q == KvQuant::kInt8) return 16 * mt + 2 * (row & 7) + (row >> 3);
  return 32 * (mt >> 1) + 4 * (row & 7) + 2 * (mt & 1) + (row >> 3);
}

// One warp's running state over the heads 2 (lane % 4) + {0, 1} it holds in the mma layouts.
template <int D>
struct WarpSoftmax {
  float o[D / 16][4] = {};  // O^T fragments: [m-tile][(row g, h0), (g, h1), (g + 8, h0), (g + 8, h1)], rows o_row_d
  float m[2] = {-INFINITY, -INFINITY};  // running max of the scaled scores
  float l[2] = {0.0f, 0.0f};            // this lane's share of the running sum (summed over lanes at the end)
  float zc[2] = {0.0f, 0.0f};           // quantized: this lane's share of sum_tok zero_v P' (subtracted from o)
};

// O^T += V^T . P^T for one chunk after rescaling O by alpha; p_lo / p_hi: P^T for tokens 0-7 / 8-15 as b operands.
// Quantized: of the stored integers, P^T already scaled (attend_chunk).
template <typename T, KvQuant Q, int D>
__device__ __forceinline__ void chunk_values(const unsigned char* v_tile, uint32_t p_lo, uint32_t p_hi,
                                             const float (&alpha)[2], WarpSoftmax<D>& st) {
  using G = Geometry<Q, D>;
  const int lane = threadIdx.x & 31;
  auto accumulate = [&](int mt, const uint32_t(&a)[4]) {
#pragma unroll
    for (int i = 0; i < 4; ++i) st.o[mt][i] *= alpha[i & 1];
    mma_16816<T>(st.o[mt], a, p_lo, p_hi);
  };
#pragma unroll
  for (int p = 0; p < G::kPieces; p += 2) {
    // V^T (m = d, k = token) by transposed loads; matrices: tokens 0-7 x piece p, p + 1 (r[0], r[1]), tokens 8-15
    // x piece p, p + 1 (r[2], r[3]).
    uint32_t r[4];
    ldmatrix_x4_trans(r, v_tile + tile_offset<G::kPieces>(((lane >> 4) << 3) + (lane & 7), p + ((lane >> 3) & 1)));
    if constexpr (Q == KvQuant::kNone) {
      accumulate(p / 2, r);
    } else {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const uint32_t lo = r[h], hi = r[2 + h];  // piece p + h of tokens 2t, 2t + 1 / 2t + 8, 2t + 9
        if constexpr (Q == KvQuant::kInt8) {
          const uint32_t a[4] = {int8_pair<T, 0, 2>(lo), int8_pair<T, 1, 3>(lo), int8_pair<T, 0, 2>(hi),
                                 int8_pair<T, 1, 3>(hi)};
          accumulate(p + h, a);
        } else {
          const uint32_t a0[4] = {int4_pair<T, 0>(lo), int4_pair<T, 1>(lo), int4_pair<T, 0>(hi), int4_pair<T, 1>(hi)};
          accumulate(2 * (p + h), a0);
          const uint32_t a1[4] = {int4_pair<T, 2>(lo), int4_pair<T, 3>(lo), int4_pair<T, 2>(hi), int4_pair<T, 3>(hi)};
          accumulate(2 * (p + h) + 1, a1);
        }
      }
    }
  }
}

// A warp's state in shared memory for the merge: O [kGroup][D], then m [kGroup], then l [kGroup] (floats).
template <int D>
constexpr int m_offset() {
  return kGroup * D;
}
template <int D>
constexpr int l_offset() {
  return m_offset<D>() + kGroup;
}
// st.l and st.zc already summed over the lanes of each head.
template <KvQuant Q, int D>
__device__ __forceinline__ void write_warp_state(float* state, const WarpSoftmax<D>& st) {
  const int lane = threadIdx.x & 31, h0 = 2 * (lane & 3), g = lane >> 2;
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float o = Q == KvQuant::kNone ? st.o[mt][i] : st.o[mt][i] - st.zc[i & 1];
      state[(h0 + (i & 1)) * D + o_row_d<Q>(mt, g + (i >> 1) * 8)] = o;
    }
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
// then O^T += V^T . P^T. stage: the chunk's stage (K rows, V rows, quantized: K and V {scale, zero}). q_frag: Q^T
// as mma b operands; q_sum (quantized): sum(Q) of heads 2t, 2t + 1.
template <typename T, KvQuant Q, int D>
__device__ __forceinline__ void attend_chunk(const unsigned char* stage, const uint32_t (&q_frag)[D / 16][2],
                                             const float (&q_sum)[2], int valid, float scale_log2, WarpSoftmax<D>& st) {
  using G = Geometry<Q, D>;
  const int lane = threadIdx.x & 31, token = lane >> 2;
  const float2* params = reinterpret_cast<const float2*>(stage + 2 * G::kTileBytes);  // quantized: K's, then V's
  float c[4] = {};
  chunk_scores<T, Q, D>(stage, q_frag, c);
  float s[4];
  if constexpr (Q == KvQuant::kNone) {
#pragma unroll
    for (int i = 0; i < 4; ++i) s[i] = token + (i >> 1) * 8 < valid ? c[i] * scale_log2 : -INFINITY;
  } else {
    const float2 kp[2] = {params[token], params[token + 8]};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 sz = kp[i >> 1];
      s[i] = token + (i >> 1) * 8 < valid ? (c[i] - sz.y * q_sum[i & 1]) * (sz.x * scale_log2) : -INFINITY;
    }
  }

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

  // P^T as the b operand (k = token, n = head): the transposes of the two 8 x 8 score blocks (tokens 0-7, 8-15).
  uint32_t p_lo, p_hi;
  if constexpr (Q == KvQuant::kNone) {
    p_lo = pack2<T>(pr[0], pr[1]);
    p_hi = pack2<T>(pr[2], pr[3]);
  } else {
    // P' = scale_v P, and this lane's zero_v P' (of the rounded P', as the mma sees it) for its two heads.
    const float2 vp[2] = {params[kChunk + token], params[kChunk + token + 8]};
    p_lo = pack2<T>(pr[0] * vp[0].x, pr[1] * vp[0].x);
    p_hi = pack2<T>(pr[2] * vp[1].x, pr[3] * vp[1].x);
    const float2 lo = unpack2<T>(p_lo), hi = unpack2<T>(p_hi);
    st.zc[0] = st.zc[0] * alpha[0] + vp[0].y * lo.x + vp[1].y * hi.x;
    st.zc[1] = st.zc[1] * alpha[1] + vp[0].y * lo.y + vp[1].y * hi.y;
  }
  chunk_values<T, Q, D>(stage + G::kTileBytes, transpose_8x8(p_lo), transpose_8x8(p_hi), alpha, st);
}

// Q^T of the block's heads as mma b operands, [k step][b0, b1], in chunk_scores' d order; heads past the group are
// zero. Quantized: also q_sum = sum(Q) of heads 2t, 2t + 1 (over the T values the mma multiplies). q_group:
// [group, D], the query rows of the block's heads (16-byte aligned).
template <typename T, KvQuant Q, int D>
__device__ __forceinline__ void load_q_fragments(const T* q_group, int group, uint32_t (&q_frag)[D / 16][2],
                                                 float (&q_sum)[2]) {
  const int lane = threadIdx.x & 31, head = lane >> 2, t = lane & 3;
  const bool real = head < group;
  const T* row = q_group + min(head, group - 1) * D;
  if constexpr (Q == KvQuant::kNone) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      q_frag[kk][0] = real ? *reinterpret_cast<const uint32_t*>(row + 16 * kk + 2 * t) : 0u;
      q_frag[kk][1] = real ? *reinterpret_cast<const uint32_t*>(row + 16 * kk + 2 * t + 8) : 0u;
    }
  } else {
    if constexpr (Q == KvQuant::kInt8) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const uint2 w = real ? *reinterpret_cast<const uint2*>(row + 16 * kk + 4 * t) : make_uint2(0u, 0u);
        q_frag[kk][0] = w.x;
        q_frag[kk][1] = w.y;
      }
    } else {
#pragma unroll
      for (int p = 0; p < D / 32; ++p) {
        // d 32 p + 8t + {0 1 | 2 3 | 4 5 | 6 7} in w.x | w.y | w.z | w.w; steps 2p, 2p + 1 take {0, 4 | 1, 5} and
        // {2, 6 | 3, 7}.
        const uint4 w = real ? *reinterpret_cast<const uint4*>(row + 32 * p + 8 * t) : make_uint4(0u, 0u, 0u, 0u);
        q_frag[2 * p][0] = __byte_perm(w.x, w.z, 0x5410);
        q_frag[2 * p][1] = __byte_perm(w.x, w.z, 0x7632);
        q_frag[2 * p + 1][0] = __byte_perm(w.y, w.w, 0x5410);
        q_frag[2 * p + 1][1] = __byte_perm(w.y, w.w, 0x7632);
      }
    }
    // This lane's D / 4 elements, then the head's 4 lanes; lane (g, t) takes heads 2t, 2t + 1 from lanes 8t, 8t + 4.
    float sum = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const float2 f = unpack2<T>(q_frag[kk][j]);
        sum += f.x + f.y;
      }
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    q_sum[0] = __shfl_sync(0xffffffffu, sum, 8 * t);
    q_sum[1] = __shfl_sync(0xffffffffu, sum, 8 * t + 4);
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

template <typename T, KvQuant Q, int D>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm)
    streamed_decode_kernel(const T* __restrict__ q, const KvLayer<T, Q> kv, const AttentionParams p, int split_len,
                           int num_splits, T* __restrict__ out, float* __restrict__ part_o,
                           float2* __restrict__ part_ml) {
  // Trigger first, but wait for the kernels ahead only once the K/V of earlier steps are on their way (see below).
  allow_dependent_launch();
  using G = Geometry<Q, D>;
  constexpr int kPiecesPerLane = kChunk * G::kPieces / 32;  // of K and of V, per chunk
  static_assert((l_offset<D>() + kGroup) * sizeof(float) <= G::kRingBytes, "merge state fits a ring");
  extern __shared__ __align__(16) unsigned char smem[];
  const int s = blockIdx.x, kv_head = blockIdx.y, split = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int group = p.q_heads / p.kv_heads, head0 = kv_head * group;
  const int begin = split * split_len;
  const int context_len = p.context_lens[s];
  const int n = max(min(context_len - begin, split_len), 0);  // tokens of this split
  if (n == 0) {
    grid_dependency_wait();  // the partials are scratch memory that kernels ahead may still use
    write_empty_result<T, D>(p, s, head0, group, split, num_splits, out, part_ml);
    return;
  }

  // Before the dependency wait this block reads only what earlier steps wrote and writes only shared memory: the
  // metadata (copied up before a step's first kernel, outside the programmatic chain) and the K/V of every token
  // but the sequence's newest, the one row the kernels ahead (qkv_rope_kv_write) may still be writing. Every
  // global write stays after the wait: kernels ahead (the previous layer's combine) may still use the scratch
  // memory the partials live in.
  int32_t* slots = reinterpret_cast<int32_t*>(smem + kWarps * G::kRingBytes);  // [n] cache slot of each token
  const int32_t* table = p.block_tables + int64_t{s} * p.table_stride;
  for (int i = threadIdx.x; i < n; i += kThreads)
    slots[i] = table[(begin + i) / p.block_size] * p.block_size + (begin + i) % p.block_size;
  __syncthreads();
  const int newest = begin + n == context_len ? n - 1 : -1;  // the newest token's index in this split, if here

  // This warp's chunks: w, w + kWarps, ... below ceil(n / kChunk); its i-th chunk goes to stage i % kStages.
  unsigned char* ring = smem + warp * G::kRingBytes;
  const int chunks = (n + kChunk - 1) / kChunk;
  const int my_chunks = warp < chunks ? (chunks - warp + kWarps - 1) / kWarps : 0;
  const unsigned char* key = static_cast<const unsigned char*>(kv.key);
  const unsigned char* value = static_cast<const unsigned char*>(kv.value);
  // skip: a token index no cp.async may touch (its row is stored after the wait: a zero-filling copy still in
  // flight would overwrite it), or -1.
  auto issue = [&](int i, int skip) {
    unsigned char* stage = ring + (i % G::kStages) * G::kStageBytes;
    const int first = (warp + i * kWarps) * kChunk;
#pragma unroll
    for (int j = 0; j < kPiecesPerLane; ++j) {
      const int row = (lane + 32 * j) / G::kPieces, piece = lane % G::kPieces;
      if (first + row == skip) continue;
      const bool real = first + row < n;
      const int64_t src = real ? (int64_t{slots[first + row]} * kv.heads + kv_head) * G::kRowBytes + piece * 16 : 0;
      cp_async_16(stage + tile_offset<G::kPieces>(row, piece), key + src, real ? 16 : 0);
      cp_async_16(stage + G::kTileBytes + tile_offset<G::kPieces>(row, piece), value + src, real ? 16 : 0);
    }
    if constexpr (Q != KvQuant::kNone) {
      // Lanes 0-15: the K {scale, zero} of rows 0-15; lanes 16-31: the V ones. Zero-filled rows get scale 0.
      const int row = lane & 15;
      const bool real = first + row < n;
      const int64_t src = real ? int64_t{slots[first + row]} * kv.heads + kv_head : 0;
      if (first + row != skip)
        cp_async_8(stage + 2 * G::kTileBytes + lane * sizeof(float2),
                   (lane < 16 ? kv.key_params : kv.value_params) + src, real ? 8 : 0);
    }
  };

  // Every iteration commits one group (empty past the last chunk), so waiting for all but kStages - 1 groups
  // means chunk i has landed. The first kStages - 1 chunks go out before the wait, without the newest row.
  WarpSoftmax<D> st;
#pragma unroll
  for (int i = 0; i < G::kStages - 1; ++i) {
    if (i < my_chunks) issue(i, newest);
    cp_async_commit();
  }
  grid_dependency_wait();
  uint32_t q_frag[D / 16][2];
  float q_sum[2] = {};  // quantized caches only
  load_q_fragments<T, Q, D>(q + (int64_t{p.query_start[s]} * p.q_heads + head0) * D, group, q_frag, q_sum);
  if (newest >= 0 && (newest / kChunk) % kWarps == warp && newest / kChunk / kWarps < G::kStages - 1) {
    // The newest row's chunk went out above without it: its owner warp stores it now, past the L1 (written by the
    // kernel ahead). The __syncwarp before the chunk is read makes these stores visible to the warp.
    unsigned char* stage = ring + (newest / kChunk / kWarps) * G::kStageBytes;
    const int row = newest % kChunk;
    const int64_t base = int64_t{slots[newest]} * kv.heads + kv_head;
    for (int piece = lane; piece < G::kPieces; piece += 32) {
      const int64_t src = base * G::kRowBytes + piece * 16;
      *reinterpret_cast<uint4*>(stage + tile_offset<G::kPieces>(row, piece)) =
          __ldcg(reinterpret_cast<const uint4*>(key + src));
      *reinterpret_cast<uint4*>(stage + G::kTileBytes + tile_offset<G::kPieces>(row, piece)) =
          __ldcg(reinterpret_cast<const uint4*>(value + src));
    }
    if constexpr (Q != KvQuant::kNone) {
      if (lane == 0 || lane == 16) {
        const float2* params = lane == 0 ? kv.key_params : kv.value_params;
        *reinterpret_cast<float2*>(stage + 2 * G::kTileBytes + (lane + row) * sizeof(float2)) = __ldcg(params + base);
      }
    }
  }
  for (int i = 0; i < my_chunks; ++i) {
    if (i + G::kStages - 1 < my_chunks) issue(i + G::kStages - 1, -1);  // into the stage chunk i - 1 used
    cp_async_commit();
    cp_async_wait<G::kStages - 1>();
    __syncwarp();  // every lane's copies of chunk i are visible to the whole warp
    attend_chunk<T, Q, D>(ring + (i % G::kStages) * G::kStageBytes, q_frag, q_sum,
                          min(kChunk, n - (warp + i * kWarps) * kChunk), p.scale_log2, st);
    __syncwarp();  // every lane is done reading the stage before it is refilled
  }
  cp_async_wait<0>();

  // Merge the warps: each writes (O, m, l) of its 8 heads over its own ring, then every thread merges some (g, d).
#pragma unroll
  for (int h = 0; h < 2; ++h) {
#pragma unroll
    for (int o = 4; o < 32; o <<= 1) {
      st.l[h] += __shfl_xor_sync(0xffffffffu, st.l[h], o);
      if constexpr (Q != KvQuant::kNone) st.zc[h] += __shfl_xor_sync(0xffffffffu, st.zc[h], o);
    }
  }
  write_warp_state<Q, D>(reinterpret_cast<float*>(ring), st);
  __syncthreads();

  constexpr int kWarpFloats = G::kRingBytes / sizeof(float);  // stride between the warps' rings
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

template <typename T, KvQuant Q, int D>
void launch_decode_attention_streamed(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p,
                                      int max_context_len, T* out, cudaStream_t stream) {
  if (p.num_seqs == 0 || max_context_len == 0) return;
  TLM_CHECK(p.q_heads % p.kv_heads == 0 && p.q_heads / p.kv_heads <= kGroup)
      << "streamed decode attention: " << p.q_heads << " query heads over " << p.kv_heads << " kv heads (groups up to "
      << kGroup << ")";
  const int split_len = split_length(p, max_context_len);
  const int num_splits = static_cast<int>(ceil_div(max_context_len, split_len));
  const DecodePartials partials(p, num_splits, D);
  constexpr size_t kShared = Geometry<Q, D>::kSharedBytes;
  ensure_max_dynamic_shared_memory(reinterpret_cast<const void*>(streamed_decode_kernel<T, Q, D>), kShared);
  launch_dependent(streamed_decode_kernel<T, Q, D>, dim3(p.num_seqs, p.kv_heads, num_splits), kThreads, kShared, stream,
                   q, kv, p, split_len, num_splits, out, partials.o(), partials.ml());
  if (num_splits > 1) launch_decode_combine<T, D>(partials, p, num_splits, out, stream);
}

#define TLM_INSTANTIATE_STREAMED_DECODE(T, Q, D)                                                                       \
  template void launch_decode_attention_streamed<T, Q, D>(const T*, const KvLayer<T, Q>&, const AttentionParams&, int, \
                                                          T*, cudaStream_t);
TLM_FOR_EACH_PAGED_ATTENTION_INSTANCE(TLM_INSTANTIATE_STREAMED_DECODE)
#undef TLM_INSTANTIATE_STREAMED_DECODE

}  // namespace turbolm::cuda
