// The CUDA implementations behind ops/*.h. Same parameter lists as the ops (which check shapes and dtypes and
// dispatch here when a tensor lives on a CUDA device); no CUDA types, so ops/ stays CUDA-free.
// Every tensor argument lives on the device unless its op says "host" (sampling's params and penalty tokens).
#pragma once

#include <span>
#include <vector>

#include "core/tensor.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/exec_context.h"
#include "ops/kv_cache.h"
#include "ops/linear.h"
#include "ops/qkv_rope_kv_write.h"
#include "ops/rope.h"
#include "ops/sampling.h"

namespace turbolm::cuda {

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y);
// The fused decode projections of ops/fused_linear.h, each one bulk-copy GEMV kernel (fused_linear.cu); false,
// doing nothing, where that kernel does not apply (the op then runs the separate kernels).
bool rms_norm_linear(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, const LinearWeight& w,
                     Tensor& y, const LinearWeight* next);
bool linear_add(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& residual,
                const LinearWeight* next);
bool silu_mul_linear_add(const ExecContext& ctx, const Tensor& gate_up, const LinearWeight& w, Tensor& residual,
                         const LinearWeight* next);

void rms_norm(const ExecContext& ctx, const Tensor& x, const Tensor& gamma, float eps, Tensor& out);
void add_rms_norm(const ExecContext& ctx, Tensor& residual, const Tensor& delta, const Tensor& gamma, float eps,
                  Tensor& out);

void silu_mul(const ExecContext& ctx, const Tensor& gate_up, Tensor& out);
void add(const ExecContext& ctx, const Tensor& a, const Tensor& b, Tensor& out);
// ids may live on the host (checked there, then uploaded) or on the device (ids outside [0, V) give zero rows).
void embedding(const ExecContext& ctx, const Tensor& ids, const Tensor& table, Tensor& out);
// rows may live on the host or on the device.
void gather_rows(const ExecContext& ctx, const Tensor& x, const Tensor& rows, Tensor& out);
// Any direction between host and device, or device to device. Returns once a host destination holds the data.
void split_columns(const ExecContext& ctx, const Tensor& src, std::initializer_list<Tensor*> parts);
void copy(const ExecContext& ctx, const Tensor& src, Tensor& dst);
void convert(const ExecContext& ctx, const Tensor& src, Tensor& dst);

void rope(const ExecContext& ctx, Tensor& q, Tensor& k, const Tensor& positions, const RopeTable& table);

void write_kv_cache(const ExecContext& ctx, const Tensor& k, const Tensor& v, const Tensor& slot_mapping,
                    KvCache& cache, int64_t layer);
// The fused kernel (bf16 / f16, head_dim 64 or 128); returns false, doing nothing, for other shapes (the op then
// runs the separate kernels).
bool qkv_rope_kv_write(const ExecContext& ctx, const Tensor& qkv, const QkNorm& norm, const Tensor& positions,
                       const RopeTable& table, const Tensor& slot_mapping, KvCache& cache, int64_t layer,
                       Tensor& q_out);
void paged_attention(const ExecContext& ctx, const Tensor& q, const KvCache& cache, int64_t layer,
                     const AttentionMetadata& meta, float scale, Tensor& out);

// logits: [S, V] f32 on the device; params and penalty_tokens on the host. Only the results cross to the host.
SampleFuture sample_async(const ExecContext& ctx, Tensor& logits, std::span<const SamplingParams> params,
                          std::span<const std::span<const int32_t>> penalty_tokens);
void resolve_feedback_tokens(const ExecContext& ctx, const Tensor& sampled, Tensor& ids);

// CUDA graphs (graph.cu), behind ops/step_graph.h. begin_graph_capture starts capturing on a private stream
// (returned in *capture_stream) and returns a capture handle; end_graph_capture ends it and returns the
// instantiated graph (nullptr, discarding it, when keep is false). Device blocks the captured work allocates
// and frees stay reserved for the graph until destroy_graph.
void* begin_graph_capture(void** capture_stream);
void* end_graph_capture(void* capture, bool keep);
void launch_graph(void* graph, void* stream);
void destroy_graph(void* graph);
// Changes when a persistent device workspace moved (captured graphs using it are stale).
uint64_t workspace_epoch();
// Copies `bytes` from host memory to `device_dst` on `stream` through pinned staging (asynchronous, no sync).
void upload_staged(const void* host, size_t bytes, void* device_dst, void* stream);

}  // namespace turbolm::cuda
