// The attention block's work between the qkv projection and attention, as one op (one kernel on CUDA):
//   q, k, v = split(qkv); q, k = per-head RMSNorm (Qwen3's q_norm / k_norm, when given);
//   q, k = rope(q, k, positions); write_kv_cache(k, v) at slot_mapping (int8 / int4 quantized caches too);
//   q_out = q.
// Each stage rounds to the activation dtype as the separate ops do, so the result equals that sequence of ops up to
// the f32 summation order of the norm.
#pragma once

#include "core/tensor.h"
#include "ops/exec_context.h"
#include "ops/kv_cache.h"
#include "ops/rope.h"

namespace turbolm {

// Per-head RMSNorm of q and k before RoPE; undefined tensors mean no norm.
struct QkNorm {
  Tensor q;  // [D]
  Tensor k;  // [D]
  float eps = 0.0f;
  bool defined() const { return q.defined(); }
};

// qkv: [T, (Hq + 2 Hkv) * D] (activation dtype; q heads, then k heads, then v heads); positions, slot_mapping: [T]
// i32 (host for CPU, device for CUDA; slot < 0 writes nothing, for padding rows); q_out: [T, Hq, D]. Hq and D come
// from q_out, Hkv from the cache. Dynamic-NTK callers pass each sequence's rows with its own table.
void qkv_rope_kv_write(const ExecContext& ctx, const Tensor& qkv, const QkNorm& norm, const Tensor& positions,
                       const RopeTable& table, const Tensor& slot_mapping, KvCache& cache, int64_t layer,
                       Tensor& q_out);

}  // namespace turbolm
