// The small ops of ops/elementwise.h: silu_mul, add, embedding, gather_rows, split_columns, copy, convert.
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace turbolm::cuda {
namespace {

constexpr int kThreads = 256;

unsigned grid_for(int64_t work) {
  return static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>(ceil_div(work, kThreads), int64_t{multiprocessor_count()} * 16)));
}

// gate_up: [T, 2I] -> out: [T, I], 8 (or 4) elements per thread and step.
template <typename T>
__global__ void silu_mul_kernel(const T* __restrict__ gate_up, T* __restrict__ out, int64_t tokens, int64_t inter) {
  begin_dependent_kernel();
  constexpr int kVec = Vec<T>::kSize;
  const int64_t vecs_per_row = inter / kVec, n = tokens * vecs_per_row;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / vecs_per_row, c = (i % vecs_per_row) * kVec;
    Vec<T> g, u, o;
    g.load_global(gate_up + t * 2 * inter + c);
    u.load_global(gate_up + t * 2 * inter + inter + c);
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      const float gv = to_float(g.v[e]);
      o.v[e] = from_float<T>(gv / (1.0f + __expf(-gv)) * to_float(u.v[e]));
    }
    o.store(out + t * inter + c);
  }
}

template <typename T>
__global__ void add_kernel(const T* a, const T* b, T* out, int64_t vecs) {
  begin_dependent_kernel();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < vecs; i += int64_t{gridDim.x} * blockDim.x) {
    Vec<T> x, y;
    x.load(a + i * Vec<T>::kSize);
    y.load(b + i * Vec<T>::kSize);
#pragma unroll
    for (int e = 0; e < Vec<T>::kSize; ++e) x.v[e] = from_float<T>(to_float(x.v[e]) + to_float(y.v[e]));
    x.store(out + i * Vec<T>::kSize);
  }
}

// out[r, :] = src[rows[r], :] (rows outside [0, num_src) give a zero row). Used by embedding and gather_rows.
template <typename T>
__global__ void gather_kernel(const T* __restrict__ src, const int32_t* __restrict__ rows, T* __restrict__ out,
                              int64_t num_src, int64_t width_vecs) {
  begin_dependent_kernel();
  const int64_t r = blockIdx.x;
  const int32_t row = rows[r];
  const bool valid = row >= 0 && row < num_src;
  for (int64_t c = threadIdx.x; c < width_vecs; c += blockDim.x) {
    Vec<T> v;
    if (valid) {
      v.load_global(src + (row * width_vecs + c) * Vec<T>::kSize);
    } else {
      v.raw = make_uint4(0, 0, 0, 0);
    }
    v.store(out + (r * width_vecs + c) * Vec<T>::kSize);
  }
}

// The parts of split_columns, by value (no upload): part i takes `width[i]` units of every source row.
struct SplitParts {
  void* dst[kMaxSplitParts];
  int64_t width[kMaxSplitParts];  // in units of U
  int count;
};

// src [T, C] -> parts; U is the copy unit (16 bytes when every width and pointer allows it, else 2 bytes).
template <typename U>
__global__ void split_columns_kernel(const U* __restrict__ src, SplitParts parts, int64_t tokens, int64_t row_units) {
  begin_dependent_kernel();
  const int64_t n = tokens * row_units;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / row_units;
    int64_t c = i % row_units, width = parts.width[0];
    void* dst = parts.dst[0];
    // Constant indices only: a dynamically indexed parameter array would go through local memory.
#pragma unroll
    for (int j = 1; j < kMaxSplitParts; ++j) {
      if (j < parts.count && c >= width) {
        c -= width;
        width = parts.width[j];
        dst = parts.dst[j];
      }
    }
    static_cast<U*>(dst)[t * width + c] = src[i];
  }
}

template <typename Src, typename Dst>
__global__ void convert_kernel(const Src* __restrict__ src, Dst* __restrict__ dst, int64_t n) {
  begin_dependent_kernel();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = from_float<Dst>(to_float(src[i]));
}

template <typename T>
void launch_silu_mul(const T* gate_up, T* out, int64_t tokens, int64_t inter, cudaStream_t stream) {
  TLM_CHECK(inter % Vec<T>::kSize == 0) << "silu_mul: CUDA needs the width to be a multiple of " << Vec<T>::kSize;
  if (tokens == 0) return;
  launch_dependent(silu_mul_kernel<T>, grid_for(tokens * inter / Vec<T>::kSize), kThreads, 0, stream, gate_up, out,
                   tokens, inter);
}

template <typename T>
void launch_add(const T* a, const T* b, T* out, int64_t n, cudaStream_t stream) {
  TLM_CHECK(n % Vec<T>::kSize == 0) << "add: CUDA needs the size to be a multiple of " << Vec<T>::kSize;
  if (n == 0) return;
  launch_dependent(add_kernel<T>, grid_for(n / Vec<T>::kSize), kThreads, 0, stream, a, b, out, n / Vec<T>::kSize);
}

template <typename T>
void launch_gather(const T* src, const int32_t* rows, T* out, int64_t num_rows, int64_t num_src, int64_t width,
                   cudaStream_t stream) {
  TLM_CHECK(width % Vec<T>::kSize == 0) << "gather: CUDA needs the row width to be a multiple of " << Vec<T>::kSize;
  if (num_rows == 0) return;
  const int threads = static_cast<int>(std::min<int64_t>(kThreads, std::max<int64_t>(32, width / Vec<T>::kSize)));
  launch_dependent(gather_kernel<T>, static_cast<unsigned>(num_rows), threads, 0, stream, src, rows, out, num_src,
                   width / Vec<T>::kSize);
}

template <typename Src, typename Dst>
void launch_convert(const Src* src, Dst* dst, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  launch_dependent(convert_kernel<Src, Dst>, grid_for(n), kThreads, 0, stream, src, dst, n);
}

// Row indices as a device pointer: device tensors are used as they are, host ones are uploaded into `scratch`.
const int32_t* device_rows(const Tensor& rows, std::unique_ptr<DeviceScratch>& scratch, cudaStream_t stream) {
  TLM_CHECK(rows.dtype() == DType::kI32 && rows.is_contiguous())
      << "rows must be contiguous i32, got " << rows.to_string();
  if (rows.device().is_cuda()) return static_cast<const int32_t*>(rows.data());
  scratch = std::make_unique<DeviceScratch>(rows.nbytes());
  CUDA_CHECK(cudaMemcpyAsync(scratch->as<int32_t>(), rows.data(), rows.nbytes(), cudaMemcpyHostToDevice, stream));
  return scratch->as<int32_t>();
}

void gather(const char* op, const Tensor& src, const Tensor& rows, Tensor& out, cudaStream_t stream) {
  check_on_device(src, op, "source");
  check_on_device(out, op, "out");
  TLM_CHECK(src.dtype() == out.dtype()) << op << ": CUDA needs the source in the output dtype "
                                        << dtype_name(out.dtype()) << ", got " << src.to_string();
  std::unique_ptr<DeviceScratch> scratch;
  const int32_t* rows_ptr = device_rows(rows, scratch, stream);
  dispatch_float(out.dtype(), op, [&]<typename T>(T) {
    launch_gather<T>(static_cast<const T*>(src.data()), rows_ptr, static_cast<T*>(out.data()), rows.numel(), src.dim(0),
                     src.dim(-1), stream);
  });
}

template <typename U>
void launch_split_columns(const Tensor& src, std::initializer_list<Tensor*> parts, cudaStream_t stream) {
  SplitParts sp{};
  for (Tensor* p : parts) sp.dst[sp.count] = p->data(), sp.width[sp.count++] = p->nbytes() / src.dim(0) / sizeof(U);
  const int64_t row_units = src.nbytes() / src.dim(0) / sizeof(U);
  launch_dependent(split_columns_kernel<U>, grid_for(src.dim(0) * row_units), kThreads, 0, stream,
                   static_cast<const U*>(src.data()), sp, src.dim(0), row_units);
}

}  // namespace

void split_columns(const ExecContext& ctx, const Tensor& src, std::initializer_list<Tensor*> parts) {
  check_on_device(src, "split_columns", "src");
  TLM_CHECK(parts.size() <= kMaxSplitParts) << "split_columns: at most " << kMaxSplitParts << " parts";
  if (src.numel() == 0) return;
  bool wide = reinterpret_cast<uintptr_t>(src.data()) % 16 == 0;
  for (Tensor* p : parts) {
    check_on_device(*p, "split_columns", "a part");
    wide = wide && reinterpret_cast<uintptr_t>(p->data()) % 16 == 0 && (p->nbytes() / src.dim(0)) % 16 == 0;
  }
  if (wide) return launch_split_columns<uint4>(src, parts, stream_of(ctx));
  launch_split_columns<uint16_t>(src, parts, stream_of(ctx));
}

void silu_mul(const ExecContext& ctx, const Tensor& gate_up, Tensor& out) {
  check_on_device(gate_up, "silu_mul", "gate_up");
  check_on_device(out, "silu_mul", "out");
  const int64_t inter = out.dim(-1), tokens = out.numel() / std::max<int64_t>(inter, 1);
  dispatch_float(out.dtype(), "silu_mul", [&]<typename T>(T) {
    launch_silu_mul<T>(static_cast<const T*>(gate_up.data()), static_cast<T*>(out.data()), tokens, inter,
                       stream_of(ctx));
  });
}

void add(const ExecContext& ctx, const Tensor& a, const Tensor& b, Tensor& out) {
  check_on_device(a, "add", "a");
  check_on_device(b, "add", "b");
  check_on_device(out, "add", "out");
  dispatch_float(out.dtype(), "add", [&]<typename T>(T) {
    launch_add<T>(static_cast<const T*>(a.data()), static_cast<const T*>(b.data()), static_cast<T*>(out.data()),
                  out.numel(), stream_of(ctx));
  });
}

void embedding(const ExecContext& ctx, const Tensor& ids, const Tensor& table, Tensor& out) {
  if (ids.device().is_cpu()) {
    const int32_t* id = ids.data<int32_t>();
    for (int64_t i = 0; i < ids.numel(); ++i)
      TLM_CHECK_ARG(id[i] >= 0 && id[i] < table.dim(0))
          << "embedding: token id " << id[i] << " is outside the vocabulary [0, " << table.dim(0) << ")";
  }
  gather("embedding", table, ids, out, stream_of(ctx));
}

void gather_rows(const ExecContext& ctx, const Tensor& x, const Tensor& rows, Tensor& out) {
  gather("gather_rows", x, rows, out, stream_of(ctx));
}

void copy(const ExecContext& ctx, const Tensor& src, Tensor& dst) {
  TLM_CHECK(src.is_contiguous() && dst.is_contiguous()) << "copy: both tensors must be contiguous";
  TLM_CHECK_EQ(src.nbytes(), dst.nbytes()) << "copy: " << src.to_string() << " -> " << dst.to_string();
  if (src.nbytes() == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), src.nbytes(), cudaMemcpyDefault, stream_of(ctx)));
  // A host destination must hold the bytes on return; a host source may be freed on return (the driver
  // stages pageable memory before cudaMemcpyAsync returns).
  if (dst.device().is_cpu()) CUDA_CHECK(cudaStreamSynchronize(stream_of(ctx)));
}

void convert(const ExecContext& ctx, const Tensor& src, Tensor& dst) {
  check_on_device(src, "convert", "src");
  check_on_device(dst, "convert", "dst");
  dispatch_float(src.dtype(), "convert", [&]<typename S>(S) {
    dispatch_float(dst.dtype(), "convert", [&]<typename D>(D) {
      launch_convert<S, D>(static_cast<const S*>(src.data()), static_cast<D*>(dst.data()), src.numel(), stream_of(ctx));
    });
  });
}

namespace {
template void launch_silu_mul<float>(const float*, float*, int64_t, int64_t, cudaStream_t);
template void launch_silu_mul<bf16_t>(const bf16_t*, bf16_t*, int64_t, int64_t, cudaStream_t);
template void launch_silu_mul<f16_t>(const f16_t*, f16_t*, int64_t, int64_t, cudaStream_t);
template void launch_add<float>(const float*, const float*, float*, int64_t, cudaStream_t);
template void launch_add<bf16_t>(const bf16_t*, const bf16_t*, bf16_t*, int64_t, cudaStream_t);
template void launch_add<f16_t>(const f16_t*, const f16_t*, f16_t*, int64_t, cudaStream_t);
template void launch_gather<float>(const float*, const int32_t*, float*, int64_t, int64_t, int64_t, cudaStream_t);
template void launch_gather<bf16_t>(const bf16_t*, const int32_t*, bf16_t*, int64_t, int64_t, int64_t, cudaStream_t);
template void launch_gather<f16_t>(const f16_t*, const int32_t*, f16_t*, int64_t, int64_t, int64_t, cudaStream_t);
// convert: every pair of {f32, bf16, f16} (the identity pairs serve as a typed device copy).
template void launch_convert<float, float>(const float*, float*, int64_t, cudaStream_t);
template void launch_convert<float, bf16_t>(const float*, bf16_t*, int64_t, cudaStream_t);
template void launch_convert<float, f16_t>(const float*, f16_t*, int64_t, cudaStream_t);
template void launch_convert<bf16_t, float>(const bf16_t*, float*, int64_t, cudaStream_t);
template void launch_convert<bf16_t, bf16_t>(const bf16_t*, bf16_t*, int64_t, cudaStream_t);
template void launch_convert<bf16_t, f16_t>(const bf16_t*, f16_t*, int64_t, cudaStream_t);
template void launch_convert<f16_t, float>(const f16_t*, float*, int64_t, cudaStream_t);
template void launch_convert<f16_t, bf16_t>(const f16_t*, bf16_t*, int64_t, cudaStream_t);
template void launch_convert<f16_t, f16_t>(const f16_t*, f16_t*, int64_t, cudaStream_t);
}  // namespace

}  // namespace turbolm::cuda
