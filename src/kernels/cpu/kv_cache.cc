// Writing new keys / values into the paged cache (quantizing for int8 / int4 caches).
#include <cstring>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/kv_quant.h"
#include "kernels/cpu/row_io.h"

namespace turbolm::cpu {
namespace {

// src: [T, H, D] activations; dst / params: one layer of the cache.
void write_one(const VecOps& v, const Tensor& src, const int32_t* slots, int64_t T, const KvCacheSpec& spec,
               Tensor& dst, Tensor* params, ThreadPool& pool) {
  const int64_t H = spec.num_kv_heads, D = spec.head_dim, capacity = spec.num_blocks * spec.block_size;
  const size_t src_head = dtype_bytes(src.dtype(), D);
  const size_t dst_head = spec.quant == KvQuant::kInt4   ? static_cast<size_t>(D / 2)
                          : spec.quant == KvQuant::kInt8 ? static_cast<size_t>(D)
                                                         : dtype_bytes(spec.dtype, D);
  pool.parallel_for(T, [&](int64_t t0, int64_t t1) {
    std::vector<float> row;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t slot = slots[t];
      if (slot < 0) continue;  // padding token: nothing to cache
      TLM_CHECK_LT(slot, capacity) << "write_kv_cache: slot out of range";
      for (int64_t h = 0; h < H; ++h) {
        const char* s = static_cast<const char*>(src.data()) + (t * H + h) * src_head;
        char* d = static_cast<char*>(dst.data()) + (slot * H + h) * dst_head;
        if (spec.quant == KvQuant::kNone && src.dtype() == spec.dtype) {
          std::memcpy(d, s, dst_head);
          continue;
        }
        const float* x = row_as_f32(v, s, src.dtype(), D, row);
        switch (spec.quant) {
          case KvQuant::kNone: store_row(v, x, d, spec.dtype, D); break;
          case KvQuant::kInt8:
            quantize_int8(x, D, reinterpret_cast<int8_t*>(d), params->data<float>() + (slot * H + h) * 2);
            break;
          case KvQuant::kInt4:
            quantize_int4(x, D, reinterpret_cast<uint8_t*>(d), params->data<float>() + (slot * H + h) * 2);
            break;
        }
      }
    }
  });
}

}  // namespace

void write_kv_cache(const ExecContext& ctx, const Tensor& k, const Tensor& v, const Tensor& slot_mapping,
                    KvCache& cache, int64_t layer) {
  const VecOps& ops = vec_ops(active_isa());
  const KvCacheSpec& spec = cache.spec();
  const bool quant = spec.quant != KvQuant::kNone;
  const int64_t T = k.dim(0);
  write_one(ops, k, slot_mapping.data<int32_t>(), T, spec, cache.key(layer), quant ? &cache.key_params(layer) : nullptr,
            ctx.threads());
  write_one(ops, v, slot_mapping.data<int32_t>(), T, spec, cache.value(layer),
            quant ? &cache.value_params(layer) : nullptr, ctx.threads());
}

}  // namespace turbolm::cpu
