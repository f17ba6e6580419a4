// Paged causal attention on CPU, any mix of prefill chunks and decode rows.
//
// Work items are (sequence, query head, key split). A key split is a contiguous range of cache positions; splits
// exist only when there are too few (sequence, head) pairs to keep every thread busy on a long context. Each
// item walks its keys block by block (scores for a block, then one rescale of the running output: online
// softmax in f32) for every query row of its sequence, honouring the causal limit of each row. With several
// splits, the per-split (max, sum, output) partials are merged afterwards. Threads take items dynamically so a
// long prefill and many short decodes in one batch balance.
#include <atomic>
#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/kv_quant.h"
#include "kernels/cpu/row_io.h"

namespace turbolm::cpu {
namespace {

// One layer of the cache, as raw pointers. Rows are addressed by (slot, kv head).
struct KvLayer {
  const char* k;
  const char* v;
  const float* kp;  // [slots, H, 2] {scale, zero} when quantized
  const float* vp;
  int64_t H, D;
  KvQuant quant;
  DType dtype;
  size_t row_bytes;
};

// q . key(slot, h); q is f32 [D]. `tmp` [D] holds dequantized rows.
inline float key_dot(const VecOps& v, const float* q, const KvLayer& c, int64_t row, float* tmp) {
  const char* k = c.k + row * c.row_bytes;
  switch (c.quant) {
    case KvQuant::kInt8: dequantize_int8(reinterpret_cast<const int8_t*>(k), c.kp + row * 2, c.D, tmp); break;
    case KvQuant::kInt4: dequantize_int4(reinterpret_cast<const uint8_t*>(k), c.kp + row * 2, c.D, tmp); break;
    case KvQuant::kNone:
      switch (c.dtype) {
        case DType::kBF16: return v.dot_bf16(q, reinterpret_cast<const bf16*>(k), c.D);
        case DType::kF16: return v.dot_f16(q, reinterpret_cast<const f16*>(k), c.D);
        default: return v.dot(q, reinterpret_cast<const float*>(k), c.D);
      }
  }
  return v.dot(q, tmp, c.D);
}

// acc += p * value(slot, h).
inline void value_axpy(const VecOps& v, float p, const KvLayer& c, int64_t row, float* acc, float* tmp) {
  const char* x = c.v + row * c.row_bytes;
  switch (c.quant) {
    case KvQuant::kInt8: dequantize_int8(reinterpret_cast<const int8_t*>(x), c.vp + row * 2, c.D, tmp); break;
    case KvQuant::kInt4: dequantize_int4(reinterpret_cast<const uint8_t*>(x), c.vp + row * 2, c.D, tmp); break;
    case KvQuant::kNone:
      switch (c.dtype) {
        case DType::kBF16: return v.axpy_bf16(p, reinterpret_cast<const bf16*>(x), acc, c.D);
        case DType::kF16: return v.axpy_f16(p, reinterpret_cast<const f16*>(x), acc, c.D);
        default: return v.axpy(p, reinterpret_cast<const float*>(x), acc, c.D);
      }
  }
  v.axpy(p, tmp, acc, c.D);
}

struct Softmax {
  float m = -std::numeric_limits<float>::infinity();
  float l = 0.0f;
};

// Accumulates keys [k0, k1) of one sequence for one (scaled) query row of kv head h into (state, acc[D]).
void attend(const VecOps& v, const float* q, const KvLayer& c, const int32_t* table, int64_t B, int64_t h, int64_t k0,
            int64_t k1, Softmax& st, float* acc, float* scores, float* tmp) {
  for (int64_t j0 = k0; j0 < k1;) {
    const int64_t lb = j0 / B, j1 = std::min(k1, (lb + 1) * B);
    const int64_t base = static_cast<int64_t>(table[lb]) * B - lb * B;  // slot of position j = base + j
    float bm = st.m;
    for (int64_t j = j0; j < j1; ++j) {
      scores[j - j0] = key_dot(v, q, c, (base + j) * c.H + h, tmp);
      bm = std::max(bm, scores[j - j0]);
    }
    if (bm > st.m) {
      const float r = std::exp(st.m - bm);  // exp(-inf) = 0 on the first block
      st.l *= r;
      v.scale(acc, r, c.D);
      st.m = bm;
    }
    for (int64_t j = j0; j < j1; ++j) {
      const float p = std::exp(scores[j - j0] - st.m);
      st.l += p;
      value_axpy(v, p, c, (base + j) * c.H + h, acc, tmp);
    }
    j0 = j1;
  }
}

}  // namespace

void paged_attention(const ExecContext& ctx, const Tensor& q, const KvCache& cache, int64_t layer,
                     const AttentionMetadata& meta, float scale, Tensor& out) {
  const VecOps& v = vec_ops(active_isa());
  const KvCacheSpec& spec = cache.spec();
  const int64_t Hq = q.dim(1), D = q.dim(2), Hkv = spec.num_kv_heads, B = spec.block_size;
  const int64_t group = Hq / Hkv, S = meta.num_seqs;
  const int32_t* qs = meta.query_start.data<int32_t>();
  const int32_t* ctx_lens = meta.context_lens.data<int32_t>();
  const int32_t* tables = meta.block_tables.data<int32_t>();
  const int64_t table_stride = meta.block_tables.dim(1);

  KvLayer c{static_cast<const char*>(cache.key(layer).data()),
            static_cast<const char*>(cache.value(layer).data()),
            spec.quant != KvQuant::kNone ? cache.key_params(layer).data<float>() : nullptr,
            spec.quant != KvQuant::kNone ? cache.value_params(layer).data<float>() : nullptr,
            Hkv,
            D,
            spec.quant,
            spec.dtype,
            spec.quant == KvQuant::kInt4   ? static_cast<size_t>(D / 2)
            : spec.quant == KvQuant::kInt8 ? static_cast<size_t>(D)
                                           : dtype_bytes(spec.dtype, D)};

  int64_t max_ctx = 0;
  for (int64_t s = 0; s < S; ++s) max_ctx = std::max<int64_t>(max_ctx, ctx_lens[s]);
  // Key splits: only when (sequence, head) pairs cannot fill the threads and contexts are long enough to pay for
  // the merge. Split length is a whole number of blocks.
  ThreadPool& pool = ctx.threads();
  const int64_t threads = pool.num_threads(), pairs = S * Hq;
  int64_t splits = 1;
  if (pairs < 4 * threads && max_ctx >= 2 * B) {
    splits = std::min((4 * threads + pairs - 1) / pairs, (max_ctx + B - 1) / B);
  }
  const int64_t split_len = ((max_ctx + splits - 1) / splits + B - 1) / B * B;
  if (split_len > 0) splits = (max_ctx + split_len - 1) / split_len;
  splits = std::max<int64_t>(splits, 1);

  const int64_t T = q.dim(0);
  const size_t q_row = dtype_bytes(q.dtype(), D), o_row = dtype_bytes(out.dtype(), D);
  // Split partials: [T, Hq, splits, D + 2] = {output (unnormalised), m, l}.
  std::vector<float> partial(splits > 1 ? static_cast<size_t>(T * Hq * splits * (D + 2)) : 0);

  const int64_t items = pairs * splits;
  std::atomic<int64_t> next{0};
  // Tiny steps (small models, short contexts) stay on the calling thread: a hand-off costs more than the work.
  const int64_t workers = T * Hq * max_ctx * D < (int64_t{1} << 16) ? 1 : threads;
  pool.parallel_for(workers, [&](int64_t, int64_t) {
    std::vector<float> qf(D), acc(D), scores(B), tmp(D), conv;
    for (int64_t item = next.fetch_add(1); item < items; item = next.fetch_add(1)) {
      const int64_t s = item / (Hq * splits), h = item / splits % Hq, p = item % splits;
      const int64_t qlen = qs[s + 1] - qs[s], clen = ctx_lens[s];
      const int32_t* table = tables + s * table_stride;
      for (int64_t i = 0; i < qlen; ++i) {
        const int64_t t = qs[s] + i, pos = clen - qlen + i;
        const int64_t k0 = p * split_len, k1 = std::min(pos + 1, (p + 1) * split_len);
        Softmax st;
        std::fill(acc.begin(), acc.end(), 0.0f);
        if (k0 < k1) {
          const float* qr =
              row_as_f32(v, static_cast<const char*>(q.data()) + (t * Hq + h) * q_row, q.dtype(), D, conv);
          for (int64_t d = 0; d < D; ++d) qf[d] = qr[d] * scale;
          attend(v, qf.data(), c, table, B, h / group, k0, k1, st, acc.data(), scores.data(), tmp.data());
        }
        if (splits == 1) {
          v.scale(acc.data(), st.l > 0.0f ? 1.0f / st.l : 0.0f, D);
          store_row(v, acc.data(), static_cast<char*>(out.data()) + (t * Hq + h) * o_row, out.dtype(), D);
        } else {
          float* dst = partial.data() + ((t * Hq + h) * splits + p) * (D + 2);
          std::copy(acc.begin(), acc.end(), dst);
          dst[D] = st.m;
          dst[D + 1] = st.l;
        }
      }
    }
  });
  if (splits == 1) return;
  pool.parallel_for(T * Hq, [&](int64_t r0, int64_t r1) {
    std::vector<float> acc(D);
    for (int64_t r = r0; r < r1; ++r) {
      const float* part = partial.data() + r * splits * (D + 2);
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t p = 0; p < splits; ++p)
        if (part[p * (D + 2) + D + 1] > 0.0f) m = std::max(m, part[p * (D + 2) + D]);
      std::fill(acc.begin(), acc.end(), 0.0f);
      float l = 0.0f;
      for (int64_t p = 0; p < splits; ++p) {
        const float* pp = part + p * (D + 2);
        if (!(pp[D + 1] > 0.0f)) continue;
        const float w = std::exp(pp[D] - m);
        l += pp[D + 1] * w;
        v.axpy(w, pp, acc.data(), D);
      }
      v.scale(acc.data(), l > 0.0f ? 1.0f / l : 0.0f, D);
      store_row(v, acc.data(), static_cast<char*>(out.data()) + r * o_row, out.dtype(), D);
    }
  });
}

}  // namespace turbolm::cpu
