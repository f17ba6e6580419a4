#include "ops/qkv_rope_kv_write.h"

#include "ops/attention.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"
#include "ops/norm.h"

namespace turbolm {
namespace {

// The same work as separate ops: the CPU backend, and CUDA shapes its fused kernel does not take.
void run_unfused(const ExecContext& ctx, const Tensor& qkv, const QkNorm& norm, const Tensor& positions,
                 const RopeTable& table, const Tensor& slot_mapping, KvCache& cache, int64_t layer, Tensor& q_out) {
  const int64_t T = qkv.dim(0), Hq = q_out.dim(1), D = q_out.dim(2), Hkv = cache.spec().num_kv_heads;
  const int64_t q_cols = Hq * D, kv_cols = Hkv * D;
  Tensor q = q_out.view({T, q_cols});
  Tensor k = Tensor::empty({T, kv_cols}, qkv.dtype(), qkv.device());
  Tensor v = Tensor::empty({T, kv_cols}, qkv.dtype(), qkv.device());
  split_columns(ctx, qkv, {&q, &k, &v});
  if (norm.defined()) {
    Tensor qh = q.view({T * Hq, D}), kh = k.view({T * Hkv, D});
    rms_norm(ctx, qh, norm.q, norm.eps, qh);
    rms_norm(ctx, kh, norm.k, norm.eps, kh);
  }
  Tensor q3 = q.view({T, Hq, D}), k3 = k.view({T, Hkv, D});
  rope(ctx, q3, k3, positions, table);
  write_kv_cache(ctx, k3, v.view({T, Hkv, D}), slot_mapping, cache, layer);
}

}  // namespace

void qkv_rope_kv_write(const ExecContext& ctx, const Tensor& qkv, const QkNorm& norm, const Tensor& positions,
                       const RopeTable& table, const Tensor& slot_mapping, KvCache& cache, int64_t layer,
                       Tensor& q_out) {
  using namespace ops_detail;
  constexpr std::string_view op = "qkv_rope_kv_write";
  const KvCacheSpec& spec = cache.spec();
  for (const Tensor* t : std::initializer_list<const Tensor*>{&qkv, &positions, &slot_mapping, &q_out}) {
    check_device(op, ctx, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
  }
  check_float(op, qkv, "qkv");
  check_dtype(op, q_out, qkv.dtype(), "q_out");
  TLM_CHECK_ARG(q_out.rank() == 3 && q_out.dim(2) == spec.head_dim)
      << op << ": q_out must be [T, Hq, " << spec.head_dim << "], got " << q_out.to_string();
  const int64_t T = q_out.dim(0), Hq = q_out.dim(1), D = spec.head_dim, Hkv = spec.num_kv_heads;
  check_shape(op, qkv, {T, (Hq + 2 * Hkv) * D}, "qkv");
  check_dtype(op, positions, DType::kI32, "positions");
  check_dtype(op, slot_mapping, DType::kI32, "slot_mapping");
  check_shape(op, positions, {T}, "positions");
  check_shape(op, slot_mapping, {T}, "slot_mapping");
  if (norm.defined()) {
    TLM_CHECK_ARG(norm.k.defined()) << op << ": q_norm given without k_norm";
    check_device(op, ctx, norm.q, "q_norm");
    check_device(op, ctx, norm.k, "k_norm");
    check_float(op, norm.q, "q_norm");
    check_float(op, norm.k, "k_norm");
    check_shape(op, norm.q, {D}, "q_norm");
    check_shape(op, norm.k, {D}, "k_norm");
  }
  if (T == 0) return;
#if TLM_OPS_HAVE_CUDA
  if (ctx.device.is_cuda() &&
      cuda::qkv_rope_kv_write(ctx, qkv, norm, positions, table, slot_mapping, cache, layer, q_out))
    return;
#endif
  run_unfused(ctx, qkv, norm, positions, table, slot_mapping, cache, layer, q_out);
}

}  // namespace turbolm
