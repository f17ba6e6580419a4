// The paged KV cache: per layer, a pool of blocks of `block_size` token slots. A token's slot is
// block * block_size + offset; the engine's block tables map each sequence's logical blocks to physical ones.
//
// Layout per layer (L = num_blocks, B = block_size, H = num_kv_heads, D = head_dim):
//   quant none : key/value  [L, B, H, D]    dtype (f32 | bf16 | f16)
//   quant int8 : key/value  [L, B, H, D]    i8,  params [L, B, H, 2] f32 {scale, zero}: x ~ (q - zero) * scale
//   quant int4 : key/value  [L, B, H, D/2]  u8 (two 4-bit values, low nibble = even index), params as int8
// Quantization is asymmetric per token per head, so the scale/zero sit beside the token in its block.
// Exact formula (CPU and CUDA agree), over the D values x of one token and head, lo = min x, hi = max x,
// rint = round half to even, all f32:
//   int8: scale = (hi - lo) / 255 (1 when that is 0), q = clamp(rint((x - lo) / scale), 0, 255) - 128,
//         zero = -lo / scale - 128
//   int4: scale = (hi - lo) / 15  (1 when that is 0), q = clamp(rint((x - lo) / scale), 0, 15),
//         zero = -lo / scale
//   dequantized x = (q - zero) * scale; error <= scale / 2 (plus f32 rounding).
#pragma once

#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace turbolm {

enum class KvQuant { kNone = 0, kInt8 = 8, kInt4 = 4 };  // values = LMDeploy's quant_policy

// quant_policy 0 / 8 / 4 -> KvQuant; anything else throws InvalidArgument.
KvQuant kv_quant_from_policy(int quant_policy);

struct KvCacheSpec {
  int64_t num_layers = 0;
  int64_t num_blocks = 0;
  int64_t block_size = 64;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  DType dtype = DType::kBF16;  // element dtype when quant == kNone
  KvQuant quant = KvQuant::kNone;
  Device device = Device::cpu();

  // Bytes one block takes across all layers, keys and values, params included.
  size_t bytes_per_block() const;
};

class KvCache {
 public:
  explicit KvCache(const KvCacheSpec& spec);  // allocates every layer on spec.device

  const KvCacheSpec& spec() const { return spec_; }
  Tensor& key(int64_t layer) { return keys_[layer]; }
  Tensor& value(int64_t layer) { return values_[layer]; }
  const Tensor& key(int64_t layer) const { return keys_[layer]; }
  const Tensor& value(int64_t layer) const { return values_[layer]; }
  // [L, B, H, 2] f32 {scale, zero}; undefined when quant == kNone.
  const Tensor& key_params(int64_t layer) const { return key_params_[layer]; }
  const Tensor& value_params(int64_t layer) const { return value_params_[layer]; }
  Tensor& key_params(int64_t layer) { return key_params_[layer]; }
  Tensor& value_params(int64_t layer) { return value_params_[layer]; }

 private:
  KvCacheSpec spec_;
  std::vector<Tensor> keys_, values_, key_params_, value_params_;
};

}  // namespace turbolm
