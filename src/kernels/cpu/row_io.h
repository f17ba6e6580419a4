// Reading and writing rows of f32 / bf16 / f16 activations as f32, for kernels whose math is f32.
#pragma once

#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/cpu/vec.h"

namespace turbolm::cpu {

inline bool is_activation_dtype(DType d) { return d == DType::kF32 || d == DType::kBF16 || d == DType::kF16; }

// Row `n` elements at `src` (dtype) as f32: the row itself when f32, else converted into `scratch`.
inline const float* row_as_f32(const VecOps& v, const void* src, DType dtype, int64_t n, std::vector<float>& scratch) {
  if (dtype == DType::kF32) return static_cast<const float*>(src);
  scratch.resize(static_cast<size_t>(n));
  if (dtype == DType::kBF16) {
    v.bf16_to_f32(static_cast<const bf16*>(src), scratch.data(), n);
  } else {
    TLM_CHECK(dtype == DType::kF16) << dtype_name(dtype);
    v.f16_to_f32(static_cast<const f16*>(src), scratch.data(), n);
  }
  return scratch.data();
}

// Writes f32 values to `dst` in `dtype` (a no-op copy-free path when dst already is the f32 row).
inline void store_row(const VecOps& v, const float* src, void* dst, DType dtype, int64_t n) {
  switch (dtype) {
    case DType::kF32:
      if (static_cast<float*>(dst) != src) std::copy(src, src + n, static_cast<float*>(dst));
      return;
    case DType::kBF16: return v.f32_to_bf16(src, static_cast<bf16*>(dst), n);
    case DType::kF16: return v.f32_to_f16(src, static_cast<f16*>(dst), n);
    default: TLM_CHECK(false) << "store_row to " << dtype_name(dtype);
  }
}

// Grain (rows per chunk) so a parallel chunk has at least ~16K elements of work.
inline int64_t row_grain(int64_t row_elems) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_elems)); }

}  // namespace turbolm::cpu
