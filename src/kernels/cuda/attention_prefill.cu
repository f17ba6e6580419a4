// Paged prefill attention, flash-attention style on tensor cores (mma.sync m16n8k16, f32 accumulation).
// Block = (64-query tile, query head, sequence); 4 warps own 16 query rows each. K/V tiles of 64 keys are
// gathered from the paged cache (dequantized on the fly) into two shared-memory stages; scores, the online softmax and
// the output accumulator stay in registers. Causal: query row i of a sequence with context c and query length n sits at
// position c - n + i, so chunked prefill (n < c) is the same code path.
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/mma.cuh"

namespace turbolm::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTileQ = 64, kTileK = 64;
constexpr int kPad = 8;  // elements of padding per shared row: rows start on different banks

// Rows [first, first + 64) of the sequence's keys or values into `tile` [64][D + kPad]; rows at or past `limit`
// are zero (their probabilities are zero, and zeros keep 0 * garbage out of the products). Plain caches copy with
// cp.async (completion: cp_async_wait + __syncthreads), quantized ones dequantize through registers.
template <typename T, KvQuant Q, int D>
__device__ __forceinline__ void load_kv_tile(T* tile, const void* cache, const float2* params, const int32_t* table,
                                             int block_size, int heads, int kv_head, int first, int limit) {
  constexpr int kChunks = D / 8;
  for (int i = threadIdx.x; i < kTileK * kChunks; i += kThreads) {
    const int r = i / kChunks, c = (i % kChunks) * 8;
    const int pos = first + r;
    T* dst = tile + r * (D + kPad) + c;
    if (pos >= limit) {
      *reinterpret_cast<uint4*>(dst) = make_uint4(0, 0, 0, 0);
    } else if constexpr (Q == KvQuant::kNone) {
      const T* src = static_cast<const T*>(cache) + (kv_slot(table, pos, block_size) * heads + kv_head) * D + c;
      cp_async_16(dst, src, 16);
    } else {
      float x[8];
      load_kv8<T, Q, D>(cache, params, kv_slot(table, pos, block_size), heads, kv_head, c, x);
      Vec<T> v;
#pragma unroll
      for (int e = 0; e < 8; ++e) v.v[e] = from_float<T>(x[e]);
      v.store(dst);
    }
  }
  cp_async_commit();
}

template <typename T, KvQuant Q, int D>
__global__ void __launch_bounds__(kThreads)
    prefill_kernel(const T* __restrict__ q, const KvLayer<T, Q> kv, const AttentionParams p, T* __restrict__ out) {
  begin_dependent_kernel();
  constexpr int kStride = D + kPad;
  constexpr int kDSteps = D / 16, kDTiles = D / 8, kKTiles = kTileK / 8;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  // Q tile, then two stages of K and V tiles: the next tile's copy overlaps this tile's math.
  T* q_s = reinterpret_cast<T*>(smem_raw);
  T* k_stage = q_s + kTileQ * kStride;
  T* v_stage = k_stage + 2 * kTileK * kStride;

  const int s = blockIdx.z, head = blockIdx.y;
  const int q_begin = p.query_start[s], q_len = p.query_start[s + 1] - q_begin;
  const int tile_row0 = blockIdx.x * kTileQ;
  if (tile_row0 >= q_len) return;
  const int context = p.context_lens[s];
  const int first_pos = context - q_len;  // position of query row 0
  const int kv_head = head / (p.q_heads / p.kv_heads);
  const int32_t* table = p.block_tables + int64_t{s} * p.table_stride;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, quad_row = lane >> 2, quad_col = (lane & 3) * 2;

  // Query tile (rows past q_len are zero and never written back).
  for (int i = threadIdx.x; i < kTileQ * (D / 8); i += kThreads) {
    const int r = i / (D / 8), c = (i % (D / 8)) * 8;
    Vec<T> v;
    if (tile_row0 + r < q_len) {
      v.load_global(q + (int64_t{q_begin + tile_row0 + r} * p.q_heads + head) * D + c);
    } else {
      v.raw = make_uint4(0, 0, 0, 0);
    }
    v.store(q_s + r * kStride + c);
  }
  __syncthreads();

  const int row0 = warp * 16 + quad_row;  // this thread's rows: row0 and row0 + 8 of the tile
  uint32_t qa[kDSteps][4];
#pragma unroll
  for (int ks = 0; ks < kDSteps; ++ks) {
    const T* base = q_s + row0 * kStride + ks * 16 + quad_col;
    qa[ks][0] = *reinterpret_cast<const uint32_t*>(base);
    qa[ks][1] = *reinterpret_cast<const uint32_t*>(base + 8 * kStride);
    qa[ks][2] = *reinterpret_cast<const uint32_t*>(base + 8);
    qa[ks][3] = *reinterpret_cast<const uint32_t*>(base + 8 * kStride + 8);
  }
  const int pos0 = first_pos + tile_row0 + row0, pos1 = pos0 + 8;

  float o[kDTiles][4] = {};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const int last_pos = first_pos + min(q_len, tile_row0 + kTileQ) - 1;
  const int key_limit = last_pos + 1;  // keys [0, key_limit) matter to some row of the tile

  auto load_stage = [&](int tile, int stage) {
    load_kv_tile<T, Q, D>(k_stage + stage * kTileK * kStride, kv.key, kv.key_params, table, p.block_size, kv.heads,
                          kv_head, tile * kTileK, key_limit);
    load_kv_tile<T, Q, D>(v_stage + stage * kTileK * kStride, kv.value, kv.value_params, table, p.block_size, kv.heads,
                          kv_head, tile * kTileK, key_limit);
  };
  const int num_tiles = (key_limit + kTileK - 1) / kTileK;
  load_stage(0, 0);
  for (int tile = 0; tile < num_tiles; ++tile) {
    const int key0 = tile * kTileK, stage = tile & 1;
    if (tile + 1 < num_tiles) {
      load_stage(tile + 1, stage ^ 1);  // that stage was released by the barrier ending the previous iteration
      cp_async_wait<2>();               // this tile's two groups are done; the next tile's two may still fly
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* k_s = k_stage + stage * kTileK * kStride;
    const T* v_s = v_stage + stage * kTileK * kStride;

    float sc[kKTiles][4] = {};
#pragma unroll
    for (int ks = 0; ks < kDSteps; ++ks) {
#pragma unroll
      for (int nt = 0; nt < kKTiles; ++nt) {
        const T* kb = k_s + (nt * 8 + quad_row) * kStride + ks * 16 + quad_col;
        mma_16816<T>(sc[nt], qa[ks], *reinterpret_cast<const uint32_t*>(kb),
                     *reinterpret_cast<const uint32_t*>(kb + 8));
      }
    }
    // Scale into the log2 domain and mask the future.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kKTiles; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = key0 + nt * 8 + quad_col + (e & 1);
        const int pos = e < 2 ? pos0 : pos1;
        sc[nt][e] = key <= pos ? sc[nt][e] * p.scale_log2 : -INFINITY;
        tile_max[e >> 1] = fmaxf(tile_max[e >> 1], sc[nt][e]);
      }
    }
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      const float m_new = fmaxf(m[r], tile_max[r]);
      alpha[r] = m_new == -INFINITY ? 1.0f : exp2f(m[r] - m_new);
      m[r] = m_new;
      l[r] *= alpha[r];
    }
#pragma unroll
    for (int nt = 0; nt < kKTiles; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float mr = m[e >> 1];
        sc[nt][e] = mr == -INFINITY ? 0.0f : exp2f(sc[nt][e] - mr);
        l[e >> 1] += sc[nt][e];
      }
    }
#pragma unroll
    for (int dt = 0; dt < kDTiles; ++dt) {
      o[dt][0] *= alpha[0];
      o[dt][1] *= alpha[0];
      o[dt][2] *= alpha[1];
      o[dt][3] *= alpha[1];
    }
    // O += P V: the score accumulators of two adjacent key tiles are exactly an A fragment.
    // B fragments of V (k = key, n = d) by ldmatrix.trans: matrices (keys +0..7 | +8..15) x (d tile dt | dt + 1).
    const int mat = lane >> 3, mat_row = lane & 7;
#pragma unroll
    for (int kk = 0; kk < kTileK / 16; ++kk) {
      const uint32_t pa[4] = {pack2<T>(sc[2 * kk][0], sc[2 * kk][1]), pack2<T>(sc[2 * kk][2], sc[2 * kk][3]),
                              pack2<T>(sc[2 * kk + 1][0], sc[2 * kk + 1][1]),
                              pack2<T>(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
      const T* v_rows = v_s + (kk * 16 + (mat & 1) * 8 + mat_row) * kStride + (mat >> 1) * 8;
#pragma unroll
      for (int dt = 0; dt < kDTiles; dt += 2) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, v_rows + dt * 8);
        mma_16816<T>(o[dt], pa, b[0], b[1]);
        mma_16816<T>(o[dt + 1], pa, b[2], b[3]);
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    l[r] = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = tile_row0 + row0 + 8 * r;
    if (row >= q_len) continue;
    T* dst = out + (int64_t{q_begin + row} * p.q_heads + head) * D + quad_col;
#pragma unroll
    for (int dt = 0; dt < kDTiles; ++dt)
      *reinterpret_cast<uint32_t*>(dst + dt * 8) = pack2<T>(o[dt][2 * r] * l[r], o[dt][2 * r + 1] * l[r]);
  }
}

}  // namespace

template <typename T, KvQuant Q, int D>
void launch_prefill_attention(const T* q, const KvLayer<T, Q>& kv, const AttentionParams& p, int max_query_len, T* out,
                              cudaStream_t stream) {
  if (p.num_seqs == 0 || max_query_len == 0) return;
  constexpr size_t kSmem = size_t{kTileQ + 4 * kTileK} * (D + kPad) * sizeof(T);
  ensure_max_dynamic_shared_memory(reinterpret_cast<const void*>(prefill_kernel<T, Q, D>), kSmem);
  const dim3 grid(static_cast<unsigned>(ceil_div(max_query_len, kTileQ)), p.q_heads, p.num_seqs);
  launch_dependent(prefill_kernel<T, Q, D>, grid, kThreads, kSmem, stream, q, kv, p, out);
}

#define TLM_INSTANTIATE_PREFILL(T, Q, D)                                                                           \
  template void launch_prefill_attention<T, Q, D>(const T*, const KvLayer<T, Q>&, const AttentionParams&, int, T*, \
                                                  cudaStream_t);
TLM_FOR_EACH_PAGED_ATTENTION_INSTANCE(TLM_INSTANTIATE_PREFILL)
#undef TLM_INSTANTIATE_PREFILL

}  // namespace turbolm::cuda
