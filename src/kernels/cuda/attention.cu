// paged_attention: picks a decode kernel (every sequence has one query row: the streamed one for GQA groups up to 8,
// else the classic one) or the flash-attention prefill kernel (any mix), and the
// (dtype, head_dim, kv-quant) instantiation; f32 and other head dims take the generic kernel.
#include <type_traits>

#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace turbolm::cuda {
namespace {

template <typename T, KvQuant Q, int D>
void run(const Tensor& q, const KvLayer<T, Q>& kv, const AttentionMetadata& meta, const AttentionParams& params,
         Tensor& out, cudaStream_t stream) {
  const T* q_ptr = static_cast<const T*>(q.data());
  T* out_ptr = static_cast<T*>(out.data());
  if (meta.max_query_len == 1) {
    const int max_context_len = static_cast<int>(meta.max_context_len);
    // One pass over K/V with more bytes in flight (attention_decode_streamed.cu); wider groups keep the classic
    // kernel.
    if (params.q_heads / params.kv_heads <= kStreamedDecodeMaxGroup)
      return launch_decode_attention_streamed<T, Q, D>(q_ptr, kv, params, max_context_len, out_ptr, stream);
    launch_decode_attention<T, Q, D>(q_ptr, kv, params, max_context_len, out_ptr, stream);
  } else {
    launch_prefill_attention<T, Q, D>(q_ptr, kv, params, static_cast<int>(meta.max_query_len), out_ptr, stream);
  }
}

template <typename T, KvQuant Q>
void run_head_dim(const Tensor& q, const KvCache& cache, int64_t layer, const AttentionMetadata& meta,
                  const AttentionParams& params, Tensor& out, cudaStream_t stream) {
  const int64_t head_dim = cache.spec().head_dim;
  const KvLayer<T, Q> kv = kv_layer<T, Q>(cache, layer);
  if constexpr (!std::is_same_v<T, float>) {
    if (head_dim == 64) return run<T, Q, 64>(q, kv, meta, params, out, stream);
    if (head_dim == 128) return run<T, Q, 128>(q, kv, meta, params, out, stream);
  }
  // f32 activations or another head_dim: the generic kernel.
  launch_generic_attention<T, Q>(static_cast<const T*>(q.data()), kv, params, static_cast<int>(q.dim(0)),
                                 static_cast<int>(head_dim), static_cast<int>(meta.max_context_len),
                                 static_cast<T*>(out.data()), stream);
}

}  // namespace

void paged_attention(const ExecContext& ctx, const Tensor& q, const KvCache& cache, int64_t layer,
                     const AttentionMetadata& meta, float scale, Tensor& out) {
  check_on_device(q, "paged_attention", "q");
  check_on_device(out, "paged_attention", "out");
  check_on_device(meta.query_start, "paged_attention", "query_start");
  check_on_device(meta.context_lens, "paged_attention", "context_lens");
  check_on_device(meta.block_tables, "paged_attention", "block_tables");
  const KvCacheSpec& spec = cache.spec();
  TLM_CHECK(spec.quant != KvQuant::kNone || spec.dtype == q.dtype())
      << "paged_attention: CUDA needs the cache in the activation dtype " << dtype_name(q.dtype()) << ", got "
      << dtype_name(spec.dtype);
  TLM_CHECK(q.dim(1) % spec.num_kv_heads == 0)
      << "paged_attention: " << q.dim(1) << " query heads over " << spec.num_kv_heads << " kv heads";
  if (meta.num_seqs == 0) return;
  const AttentionParams params = attention_params(meta, spec.block_size, q.dim(1), spec.num_kv_heads, scale);
  const cudaStream_t stream = stream_of(ctx);
  dispatch_float(q.dtype(), "paged_attention", [&]<typename T>(T) {
    switch (spec.quant) {
      case KvQuant::kNone: run_head_dim<T, KvQuant::kNone>(q, cache, layer, meta, params, out, stream); return;
      case KvQuant::kInt8: run_head_dim<T, KvQuant::kInt8>(q, cache, layer, meta, params, out, stream); return;
      case KvQuant::kInt4: run_head_dim<T, KvQuant::kInt4>(q, cache, layer, meta, params, out, stream); return;
    }
  });
}

}  // namespace turbolm::cuda
