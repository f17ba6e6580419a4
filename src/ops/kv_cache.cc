#include "ops/kv_cache.h"

#include "core/error.h"

namespace turbolm {
namespace {

// Bytes of one (token, head) row of keys or values.
size_t row_bytes(const KvCacheSpec& s) {
  switch (s.quant) {
    case KvQuant::kInt8: return static_cast<size_t>(s.head_dim);
    case KvQuant::kInt4: return static_cast<size_t>(s.head_dim / 2);
    case KvQuant::kNone: break;
  }
  return dtype_bytes(s.dtype, static_cast<size_t>(s.head_dim));
}

}  // namespace

KvQuant kv_quant_from_policy(int quant_policy) {
  switch (quant_policy) {
    case 0: return KvQuant::kNone;
    case 8: return KvQuant::kInt8;
    case 4: return KvQuant::kInt4;
  }
  TLM_FAIL(kInvalidArgument) << "quant_policy must be 0 (no KV quantization), 8 (int8) or 4 (int4), got "
                             << quant_policy;
}

size_t KvCacheSpec::bytes_per_block() const {
  const size_t rows = static_cast<size_t>(block_size * num_kv_heads);
  const size_t params = quant == KvQuant::kNone ? 0 : rows * 2 * sizeof(float);
  return static_cast<size_t>(num_layers) * 2 * (rows * row_bytes(*this) + params);
}

KvCache::KvCache(const KvCacheSpec& spec) : spec_(spec) {
  TLM_CHECK_ARG(spec.num_layers > 0 && spec.num_blocks > 0 && spec.block_size > 0 && spec.num_kv_heads > 0 &&
                spec.head_dim > 0)
      << "KV cache: layers, blocks, block_size, kv heads and head_dim must be positive";
  TLM_CHECK_ARG(spec.quant != KvQuant::kInt4 || spec.head_dim % 2 == 0)
      << "KV cache: int4 needs an even head_dim, got " << spec.head_dim;
  TLM_CHECK_ARG(spec.quant != KvQuant::kNone || spec.dtype == DType::kF32 || spec.dtype == DType::kBF16 ||
                spec.dtype == DType::kF16)
      << "KV cache: dtype must be f32, bf16 or f16, got " << dtype_name(spec.dtype);
  const Shape shape = {spec.num_blocks, spec.block_size, spec.num_kv_heads,
                       spec.quant == KvQuant::kInt4 ? spec.head_dim / 2 : spec.head_dim};
  const DType dtype = spec.quant == KvQuant::kInt8   ? DType::kI8
                      : spec.quant == KvQuant::kInt4 ? DType::kU8
                                                     : spec.dtype;
  for (int64_t l = 0; l < spec.num_layers; ++l) {
    keys_.push_back(Tensor::empty(shape, dtype, spec.device));
    values_.push_back(Tensor::empty(shape, dtype, spec.device));
    if (spec.quant != KvQuant::kNone) {
      const Shape params = {spec.num_blocks, spec.block_size, spec.num_kv_heads, 2};
      key_params_.push_back(Tensor::empty(params, DType::kF32, spec.device));
      value_params_.push_back(Tensor::empty(params, DType::kF32, spec.device));
    } else {
      key_params_.emplace_back();
      value_params_.emplace_back();
    }
  }
}

}  // namespace turbolm
