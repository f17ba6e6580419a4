#include "ops/attention.h"

#include "ops/dispatch.h"

namespace turbolm {
namespace {

void check_kv_shape(std::string_view op, const Tensor& t, const KvCacheSpec& spec, std::string_view name) {
  TLM_CHECK_ARG(t.rank() == 3 && t.dim(1) == spec.num_kv_heads && t.dim(2) == spec.head_dim)
      << op << ": " << name << " must be [T, " << spec.num_kv_heads << ", " << spec.head_dim << "], got "
      << t.to_string();
}

void check_layer(std::string_view op, const KvCache& cache, int64_t layer) {
  TLM_CHECK_ARG(layer >= 0 && layer < cache.spec().num_layers)
      << op << ": layer " << layer << " is out of range for " << cache.spec().num_layers << " layers";
}

// Host-side consistency of the step description (CPU only: device metadata is not readable here).
void check_metadata_values(const AttentionMetadata& m, int64_t T, const KvCacheSpec& spec) {
  const int32_t* qs = m.query_start.data<int32_t>();
  const int32_t* ctx = m.context_lens.data<int32_t>();
  const int32_t* tables = m.block_tables.data<int32_t>();
  const int64_t max_blocks = m.block_tables.dim(1);
  TLM_CHECK_ARG(qs[0] == 0 && qs[m.num_seqs] == T)
      << "paged_attention: query_start must run from 0 to the token count " << T;
  for (int64_t s = 0; s < m.num_seqs; ++s) {
    const int64_t qlen = qs[s + 1] - qs[s];
    TLM_CHECK_ARG(qlen >= 0 && qlen <= ctx[s])
        << "paged_attention: sequence " << s << " has " << qlen << " query tokens but a context of " << ctx[s];
    const int64_t blocks = (ctx[s] + spec.block_size - 1) / spec.block_size;
    TLM_CHECK_ARG(blocks <= max_blocks) << "paged_attention: sequence " << s << " needs " << blocks
                                        << " blocks but its block table has " << max_blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      const int32_t phys = tables[s * max_blocks + b];
      TLM_CHECK_ARG(phys >= 0 && phys < spec.num_blocks)
          << "paged_attention: sequence " << s << " maps block " << b << " to " << phys << ", outside the "
          << spec.num_blocks << " cache blocks";
    }
  }
}

}  // namespace

void write_kv_cache(const ExecContext& ctx, const Tensor& k, const Tensor& v, const Tensor& slot_mapping,
                    KvCache& cache, int64_t layer) {
  using namespace ops_detail;
  constexpr std::string_view op = "write_kv_cache";
  const KvCacheSpec& spec = cache.spec();
  check_layer(op, cache, layer);
  TLM_CHECK_ARG(spec.device == ctx.device) << op << ": cache is on " << spec.device.to_string();
  for (const Tensor* t : std::initializer_list<const Tensor*>{&k, &v, &slot_mapping}) {
    check_device(op, ctx, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
  }
  check_float(op, k, "k");
  check_float(op, v, "v");
  check_kv_shape(op, k, spec, "k");
  check_shape(op, v, k.shape(), "v");
  check_dtype(op, slot_mapping, DType::kI32, "slot_mapping");
  check_shape(op, slot_mapping, {k.dim(0)}, "slot_mapping");
  TLM_DISPATCH(ctx, write_kv_cache, ctx, k, v, slot_mapping, cache, layer);
}

void paged_attention(const ExecContext& ctx, const Tensor& q, const KvCache& cache, int64_t layer,
                     const AttentionMetadata& meta, float scale, Tensor& out) {
  using namespace ops_detail;
  constexpr std::string_view op = "paged_attention";
  const KvCacheSpec& spec = cache.spec();
  check_layer(op, cache, layer);
  TLM_CHECK_ARG(spec.device == ctx.device) << op << ": cache is on " << spec.device.to_string();
  for (const Tensor* t :
       std::initializer_list<const Tensor*>{&q, &out, &meta.query_start, &meta.context_lens, &meta.block_tables}) {
    check_device(op, ctx, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
  }
  check_float(op, q, "q");
  check_float(op, out, "out");
  TLM_CHECK_ARG(q.rank() == 3 && q.dim(2) == spec.head_dim && q.dim(1) % spec.num_kv_heads == 0)
      << op << ": q must be [T, Hq, " << spec.head_dim << "] with Hq a multiple of " << spec.num_kv_heads
      << " kv heads, got " << q.to_string();
  check_shape(op, out, q.shape(), "out");
  const int64_t S = meta.num_seqs;
  check_dtype(op, meta.query_start, DType::kI32, "query_start");
  check_dtype(op, meta.context_lens, DType::kI32, "context_lens");
  check_dtype(op, meta.block_tables, DType::kI32, "block_tables");
  check_shape(op, meta.query_start, {S + 1}, "query_start");
  check_shape(op, meta.context_lens, {S}, "context_lens");
  TLM_CHECK_ARG(meta.block_tables.rank() == 2 && meta.block_tables.dim(0) == S)
      << op << ": block_tables must be [" << S << ", max_blocks], got " << meta.block_tables.to_string();
  if (ctx.device.is_cpu()) check_metadata_values(meta, q.dim(0), spec);
  TLM_DISPATCH(ctx, paged_attention, ctx, q, cache, layer, meta, scale, out);
}

}  // namespace turbolm
