// Small element-wise and gather ops used between the big ones.
#pragma once

#include <initializer_list>

#include "core/tensor.h"
#include "ops/exec_context.h"

namespace turbolm {

// gate_up: [T, 2*I] with gate in [:, :I] and up in [:, I:] (the fused gate_up projection); out: [T, I].
// out = silu(gate) * up.
void silu_mul(const ExecContext& ctx, const Tensor& gate_up, Tensor& out);

// out = a + b (same shape and dtype). out may alias a or b.
void add(const ExecContext& ctx, const Tensor& a, const Tensor& b, Tensor& out);

// ids: [T] i32; table: [V, H] (f32 | bf16 | f16); out: [T, H] activation dtype.
// An id outside [0, V) throws InvalidArgument naming the id.
void embedding(const ExecContext& ctx, const Tensor& ids, const Tensor& table, Tensor& out);

// x: [T, H]; rows: [R] i32 host indices into T; out: [R, H] = x[rows].
void gather_rows(const ExecContext& ctx, const Tensor& x, const Tensor& rows, Tensor& out);

// Splits the columns of src [T, C] into contiguous outputs: parts[i] [T, C_i] gets columns
// [C_0 + .. + C_{i-1}, + C_i) of every row; sum C_i == C, every part src's dtype and device; at most
// kMaxSplitParts parts. (The fused qkv projection's output -> q, k, v.)
inline constexpr size_t kMaxSplitParts = 4;
void split_columns(const ExecContext& ctx, const Tensor& src, std::initializer_list<Tensor*> parts);

// Copies between any two devices (same shape and dtype; both contiguous). Converts nothing.
void copy(const ExecContext& ctx, const Tensor& src, Tensor& dst);

// dst = src converted to dst's dtype (f32 <-> bf16 / f16), same device, same shape.
void convert(const ExecContext& ctx, const Tensor& src, Tensor& dst);

}  // namespace turbolm
