// The CPU backend's entry points: the same signatures as the ops in src/ops/*.h, which check shapes and dtypes
// and then call these. Activations are f32 on CPU (bf16 / f16 also accepted by the element-wise ops, norms and
// rope); weights and KV caches keep their storage dtype.
#pragma once

#include <span>
#include <vector>

#include "core/tensor.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/exec_context.h"
#include "ops/kv_cache.h"
#include "ops/linear.h"
#include "ops/rope.h"
#include "ops/sampling.h"

namespace turbolm::cpu {

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y);

void rms_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, Tensor& out);
void add_rms_norm(const ExecContext& ctx, Tensor& residual, const Tensor& delta, const Tensor& gamma, float eps,
                  Tensor& out);

void rope(const ExecContext& ctx, Tensor& q, Tensor& k, const Tensor& positions, const RopeTable& table);

void write_kv_cache(const ExecContext& ctx, const Tensor& k, const Tensor& v, const Tensor& slot_mapping,
                    KvCache& cache, int64_t layer);
void paged_attention(const ExecContext& ctx, const Tensor& q, const KvCache& cache, int64_t layer,
                     const AttentionMetadata& meta, float scale, Tensor& out);

void silu_mul(const ExecContext& ctx, const Tensor& gate_up, Tensor& out);
void add(const ExecContext& ctx, const Tensor& a, const Tensor& b, Tensor& out);
void embedding(const ExecContext& ctx, const Tensor& ids, const Tensor& table, Tensor& out);
void gather_rows(const ExecContext& ctx, const Tensor& x, const Tensor& rows, Tensor& out);
void split_columns(const ExecContext& ctx, const Tensor& src, std::initializer_list<Tensor*> parts);
void copy(const ExecContext& ctx, const Tensor& src, Tensor& dst);
void convert(const ExecContext& ctx, const Tensor& src, Tensor& dst);

std::vector<SampleResult> sample(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                                 std::span<const std::span<const int32_t>> penalty_tokens);
// Samples now; the future hands over the finished results.
SampleFuture sample_async(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                          std::span<const std::span<const int32_t>> penalty_tokens);
void resolve_feedback_tokens(const ExecContext& ctx, const Tensor& sampled, Tensor& ids);

}  // namespace turbolm::cpu
