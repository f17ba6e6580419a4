// Element types. Sizes are in bits so packed 4-bit types fit the same table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/half.h"

namespace turbolm {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kF64,
  kF8E4M3,
  kF8E5M2,
  kI8,
  kU8,
  kI16,
  kU16,
  kI32,
  kU32,
  kI64,
  kU64,
  kBool,
  kU4,  // two values per byte, low nibble first
  kI4,
};

int dtype_bits(DType dtype);
// Bytes for `count` elements (rounded up for packed 4-bit types).
size_t dtype_bytes(DType dtype, size_t count);
std::string_view dtype_name(DType dtype);  // "f32", "bf16", ...
bool dtype_is_float(DType dtype);

// The safetensors header spelling: "F32", "BF16", "F8_E4M3", "I64", "BOOL", ... (nullopt when unknown).
std::optional<DType> dtype_from_safetensors(std::string_view name);
std::string_view dtype_safetensors_name(DType dtype);
// Config spelling: "float32", "float16", "bfloat16" (also "fp16", "bf16", "half", "float"); nullopt when unknown.
std::optional<DType> dtype_from_torch_name(std::string_view name);

template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::kF32;
};
template <>
struct DTypeOf<bf16> {
  static constexpr DType value = DType::kBF16;
};
template <>
struct DTypeOf<f16> {
  static constexpr DType value = DType::kF16;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::kI8;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::kU8;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::kI32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::kI64;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::kF64;
};

}  // namespace turbolm
