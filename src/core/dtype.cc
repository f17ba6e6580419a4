#include "core/dtype.h"

#include "core/error.h"

namespace turbolm {
namespace {

struct DTypeInfo {
  DType dtype;
  int bits;
  std::string_view name;
  std::string_view safetensors;
  bool is_float;
};

constexpr DTypeInfo kInfos[] = {
    {DType::kF32, 32, "f32", "F32", true},
    {DType::kF16, 16, "f16", "F16", true},
    {DType::kBF16, 16, "bf16", "BF16", true},
    {DType::kF64, 64, "f64", "F64", true},
    {DType::kF8E4M3, 8, "f8_e4m3", "F8_E4M3", true},
    {DType::kF8E5M2, 8, "f8_e5m2", "F8_E5M2", true},
    {DType::kI8, 8, "i8", "I8", false},
    {DType::kU8, 8, "u8", "U8", false},
    {DType::kI16, 16, "i16", "I16", false},
    {DType::kU16, 16, "u16", "U16", false},
    {DType::kI32, 32, "i32", "I32", false},
    {DType::kU32, 32, "u32", "U32", false},
    {DType::kI64, 64, "i64", "I64", false},
    {DType::kU64, 64, "u64", "U64", false},
    {DType::kBool, 8, "bool", "BOOL", false},
    {DType::kU4, 4, "u4", "U4", false},
    {DType::kI4, 4, "i4", "I4", false},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kInfos)
    if (i.dtype == dtype) return i;
  TLM_CHECK(false) << "unknown dtype " << static_cast<int>(dtype);
}

}  // namespace

int dtype_bits(DType dtype) { return info(dtype).bits; }
size_t dtype_bytes(DType dtype, size_t count) { return (count * static_cast<size_t>(info(dtype).bits) + 7) / 8; }
std::string_view dtype_name(DType dtype) { return info(dtype).name; }
bool dtype_is_float(DType dtype) { return info(dtype).is_float; }
std::string_view dtype_safetensors_name(DType dtype) { return info(dtype).safetensors; }

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const auto& i : kInfos)
    if (i.safetensors == name && i.dtype != DType::kU4 && i.dtype != DType::kI4) return i.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_torch_name(std::string_view name) {
  if (name.starts_with("torch.")) name.remove_prefix(6);
  if (name == "float32" || name == "float" || name == "fp32") return DType::kF32;
  if (name == "float16" || name == "half" || name == "fp16") return DType::kF16;
  if (name == "bfloat16" || name == "bf16") return DType::kBF16;
  return std::nullopt;
}

}  // namespace turbolm
