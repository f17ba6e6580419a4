// linear: y[T, out] = x[T, in] . W[out, in]^T (+ bias), f32 accumulation: a bandwidth-bound GEMV kernel for
// T <= 2 and the skinny tensor-core kernel for T <= 32 (bf16 / f16), cuBLASLt otherwise.
#include <cublasLt.h>

#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/linear_gemv.cuh"
#include "kernels/cuda/linear_skinny.cuh"

#define CUBLAS_CHECK(expr)                                                                                             \
  do {                                                                                                                 \
    const cublasStatus_t tlm_status_ = (expr);                                                                         \
    if (tlm_status_ != CUBLAS_STATUS_SUCCESS)                                                                          \
      TLM_FAIL(kInternal) << "cuBLASLt error: " #expr " failed with cublasStatus_t " << static_cast<int>(tlm_status_); \
  } while (0)

namespace turbolm::cuda {
namespace {

cudaDataType_t cuda_type(DType dtype) {
  switch (dtype) {
    case DType::kF32: return CUDA_R_32F;
    case DType::kBF16: return CUDA_R_16BF;
    case DType::kF16: return CUDA_R_16F;
    default:
      throw_error(ErrorCode::kUnsupported, "linear: CUDA has no GEMM for dtype " + std::string(dtype_name(dtype)));
  }
}

// One GEMM shape's descriptors and cuBLASLt's first heuristic algorithm; created once, reused every step (RAII).
// (Timing the top-8 candidates at first use was tried: with the operands hot in L2 it picked algorithms that are
// slower in the model, e.g. 4096x4096x512 35 -> 39 us; see bench/results/cuda_h100.md.)
class GemmPlan {
 public:
  // C (the output) in out_dtype: dtype, or f32 for logits from half operands.
  GemmPlan(cublasLtHandle_t handle, int64_t m, int64_t n, int64_t k, DType dtype, DType out_dtype,
           size_t workspace_bytes) {
    const cudaDataType_t type = cuda_type(dtype);
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof trans_a));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof trans_b));
    // Column-major view: C[out, T] = W^T[out, in] . X[in, T]; W is stored as a column-major [in, out] matrix.
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&a_, type, k, m, k));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&b_, type, k, n, k));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&c_, cuda_type(out_dtype), m, n, m));
    cublasLtMatmulPreference_t pref = nullptr;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                                                      sizeof workspace_bytes));
    int found = 0;
    const cublasStatus_t status =
        cublasLtMatmulAlgoGetHeuristic(handle, desc_, a_, b_, c_, c_, pref, 1, &heuristic_, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    CUBLAS_CHECK(status);
    TLM_CHECK(found > 0) << "cuBLASLt found no algorithm for " << m << "x" << n << "x" << k << " " << dtype_name(dtype);
  }
  ~GemmPlan() {
    cublasLtMatrixLayoutDestroy(c_);
    cublasLtMatrixLayoutDestroy(b_);
    cublasLtMatrixLayoutDestroy(a_);
    cublasLtMatmulDescDestroy(desc_);
  }
  GemmPlan(const GemmPlan&) = delete;
  GemmPlan& operator=(const GemmPlan&) = delete;

  void run(cublasLtHandle_t handle, const void* w, const void* x, void* y, void* workspace, size_t workspace_bytes,
           cudaStream_t stream) const {
    const float alpha = 1.0f, beta = 0.0f;
    CUBLAS_CHECK(cublasLtMatmul(handle, desc_, &alpha, w, a_, x, b_, &beta, y, c_, y, c_, &heuristic_.algo, workspace,
                                workspace_bytes, stream));
  }

 private:
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
  cublasLtMatmulHeuristicResult_t heuristic_{};
};

// A device's cuBLASLt handle, its workspace and the plans by shape: one per device (tensor-parallel rank
// threads drive one device each), one stream per device at a time; the workspace is fixed so that GEMMs can be
// captured into CUDA graphs.
class Gemm {
 public:
  // The current device's.
  static Gemm& instance() {
    static std::mutex mutex;
    static auto* by_device = new std::map<int, Gemm*>();  // never destroyed: the driver may be gone at exit
    int device = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    std::lock_guard<std::mutex> lock(mutex);
    Gemm*& gemm = (*by_device)[device];
    if (gemm == nullptr) gemm = new Gemm();
    return *gemm;
  }

  const GemmPlan& plan(int64_t m, int64_t n, int64_t k, DType dtype, DType out_dtype) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_tuple(m, n, k, dtype, out_dtype);
    auto it = plans_.find(key);
    if (it == plans_.end())
      it = plans_.try_emplace(key, std::make_unique<GemmPlan>(handle_, m, n, k, dtype, out_dtype, kWorkspaceBytes))
               .first;
    return *it->second;
  }
  cublasLtHandle_t handle() const { return handle_; }
  void* workspace() const { return workspace_; }
  static constexpr size_t kWorkspaceBytes = size_t{32} << 20;

 private:
  Gemm() {
    CUBLAS_CHECK(cublasLtCreate(&handle_));
    CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
  }

  std::mutex mutex_;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::map<std::tuple<int64_t, int64_t, int64_t, DType, DType>, std::unique_ptr<GemmPlan>> plans_;
};

// y[T, out] += bias[out] (f32 bias).
template <typename T>
__global__ void add_bias_kernel(T* __restrict__ y, const float* __restrict__ bias, int64_t rows, int64_t cols) {
  begin_dependent_kernel();
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    y[i] = from_float<T>(to_float(y[i]) + bias[i % cols]);
}

template <typename T>
void launch_add_bias(T* y, const float* bias, int64_t rows, int64_t cols, cudaStream_t stream) {
  const int64_t n = rows * cols;
  const int blocks = static_cast<int>(std::min<int64_t>(ceil_div(n, 256), int64_t{multiprocessor_count()} * 8));
  launch_dependent(add_bias_kernel<T>, blocks, 256, 0, stream, y, bias, rows, cols);
}

// Which kernel takes T tokens (H100, Qwen3-8B shapes, bench/results/cuda_h100.md): the GEMV up to 2 tokens, the
// skinny tensor-core kernel up to 32 (at T = 4 it is 1.1-1.5x faster than the GEMV, at T = 8 2x), cuBLASLt above
// (at T = 64 cuBLASLt's kernels beat the skinny one by 1.2-1.8x).
constexpr int kMaxGemvTokens = 2;
constexpr int kMaxSkinnyTokens = 32;

// Decode GEMV (T <= kMaxGemvTokens) before Hopper, and for rows longer than the bulk-copy GEMV takes. Each output row
// is cut into `splits` K-ranges of at most 256 * LOADS elements; one warp reads one range with all of its 16-byte loads
// in flight at once (LOADS per lane) and applies it to every token; the block's warps that share a row add their f32
// partial sums through shared memory. Blocks are short-lived (one batch of loads per warp) so that the block scheduler,
// not a loop inside the warp, keeps the memory system busy, and there are enough of them (out * splits / 8) to fill
// every SM even for out = 4096. With programmatic dependent launch (sm_90) the blocks start while the previous kernel
// finishes, load their weights, and wait for it only before reading x. cuBLASLt's kernels for such thin
// products reach only 0.5-2.4 TB/s on H100 (bench/results/cuda_h100.md).
constexpr int kGemvWarps = 8;  // warps per block

// Weights are read once: bypass L1 and keep them from evicting x and the KV cache from L2 longer than needed.
template <typename T>
__device__ __forceinline__ void load_stream(Vec<T>& v, const T* p) {
  asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.raw.x), "=r"(v.raw.y), "=r"(v.raw.z), "=r"(v.raw.w)
               : "l"(p));
}

// One block: rows_per_block rows x `splits` warps each. span: elements per warp (multiple of 256).
template <typename T, int NT, int LOADS>
__global__ void __launch_bounds__(kGemvWarps * 32, LOADS >= 8 ? 3 : 5)
    gemv_kernel(const T* __restrict__ w, const T* __restrict__ x, const float* __restrict__ bias, T* __restrict__ y,
                int tokens, int in, int out, int splits, int span) {
  constexpr int kWarpSpan = 256 * LOADS;
  __shared__ float partial[kGemvWarps][NT];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int rows_per_block = kGemvWarps / splits;
  const int row = blockIdx.x * rows_per_block + warp / splits, split = warp % splits;
  const bool active = warp < rows_per_block * splits && row < out;
  const int k_begin = split * span, k_end = min(in, k_begin + span);
  const T* w_row = w + int64_t{row} * in;

  allow_dependent_launch();  // as begin_dependent_kernel(): the next kernel may become resident
  float acc[NT] = {};
  Vec<T> wv[LOADS];
  int k0 = k_begin + lane * 8;
  if (active) {
#pragma unroll
    for (int u = 0; u < LOADS; ++u)
      if (k0 + u * 256 < k_end) load_stream(wv[u], w_row + k0 + u * 256);
  }
  grid_dependency_wait();  // x is the previous kernel's output
  while (active) {
#pragma unroll
    for (int u = 0; u < LOADS; ++u) {
      if (k0 + u * 256 >= k_end) break;
#pragma unroll
      for (int t = 0; t < NT; ++t) {
        if (t >= tokens) break;
        Vec<T> xv;
        xv.load_global(x + int64_t{t} * in + k0 + u * 256);
        acc[t] += dot8(wv[u], xv);
      }
    }
    k0 += kWarpSpan;
    if (k0 >= k_end) break;
#pragma unroll
    for (int u = 0; u < LOADS; ++u)
      if (k0 + u * 256 < k_end) load_stream(wv[u], w_row + k0 + u * 256);
  }
#pragma unroll
  for (int t = 0; t < NT; ++t) {
    const float sum = warp_sum(acc[t]);
    if (lane == 0) partial[warp][t] = sum;
  }
  if (splits > 1) {
    __syncthreads();
  } else {
    __syncwarp();
  }
  if (!active || split != 0 || lane >= tokens) return;
  float sum = 0.0f;  // lane t < tokens <= NT adds up token t of the row's splits
  for (int s = 0; s < splits; ++s) sum += partial[warp + s][lane];
  y[int64_t{lane} * out + row] = from_float<T>(sum + (bias != nullptr ? bias[row] : 0.0f));
}

template <typename T, int NT, int LOADS>
void launch_gemv(const T* w, const T* x, const float* bias, T* y, int tokens, int in, int out, cudaStream_t stream) {
  // The fewest splits that give every warp at most 256 * LOADS elements (a power of two <= 8, so that the
  // block's 8 warps hold whole rows; longer rows loop inside the warp), then the span rounded up to whole
  // 256-element load steps.
  int splits = 1;
  while (splits < kGemvWarps && int64_t{splits} * 256 * LOADS < in) splits *= 2;
  const int span = static_cast<int>(ceil_div(ceil_div(in, splits), 256) * 256);
  const int rows_per_block = kGemvWarps / splits;
  const auto blocks = static_cast<unsigned>(ceil_div(out, rows_per_block));
  launch_dependent(gemv_kernel<T, NT, LOADS>, blocks, kGemvWarps * 32, 0, stream, w, x, bias, y, tokens, in, out,
                   splits, span);
}

template <typename T, int LOADS>
void gemv(const T* w, const T* x, const float* bias, T* y, int tokens, int in, int out, cudaStream_t stream) {
  static_assert(kMaxGemvTokens == 2);
  if (tokens == 1) return launch_gemv<T, 1, LOADS>(w, x, bias, y, tokens, in, out, stream);
  launch_gemv<T, 2, LOADS>(w, x, bias, y, tokens, in, out, stream);
}

}  // namespace

void gemv_with_loads(DType dtype, const void* w, const void* x, const float* bias, void* y, int tokens, int in, int out,
                     int loads, cudaStream_t stream) {
  TLM_CHECK(tokens >= 1 && tokens <= kMaxGemvTokens && in % 8 == 0 && (loads == 4 || loads == 8))
      << "gemv: tokens " << tokens << ", in " << in << ", loads " << loads;
  dispatch_half(dtype, "linear", [&]<typename T>(T) {
    const auto* wt = static_cast<const T*>(w);
    const auto* xt = static_cast<const T*>(x);
    if (loads == 4) return gemv<T, 4>(wt, xt, bias, static_cast<T*>(y), tokens, in, out, stream);
    gemv<T, 8>(wt, xt, bias, static_cast<T*>(y), tokens, in, out, stream);
  });
}

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y) {
  check_on_device(x, "linear", "x");
  check_on_device(w.weight, "linear", "weight");
  check_on_device(y, "linear", "y");
  TLM_CHECK(w.weight.dtype() == x.dtype()) << "linear: CUDA needs the weight in the activation dtype ("
                                           << dtype_name(x.dtype()) << "), got " << w.weight.to_string();
  const int64_t tokens = x.numel() / x.dim(-1), in = w.in_features(), out = w.out_features();
  if (tokens == 0) return;
  const float* bias = nullptr;
  if (w.bias.defined()) {
    check_on_device(w.bias, "linear", "bias");
    TLM_CHECK(w.bias.dtype() == DType::kF32) << "linear: bias must be f32, got " << w.bias.to_string();
    bias = static_cast<const float*>(w.bias.data());
  }
  // Hopper: the bulk-copy GEMV (linear_gemv_bulk.cu) writes the activation dtype or f32 itself.
  if (BulkGemvArgs args; tokens <= kMaxGemvTokens && bulk_gemv_operands(x, w, args)) {
    args.y = y.data();
    args.y_dtype = y.dtype();
    if (gemv_bulk(args, stream_of(ctx))) return;
  }
  if (y.dtype() != x.dtype() && tokens <= kMaxSkinnyTokens) {
    // f32 logits from half activations at decode sizes: the GEMV and skinny kernels write the activation dtype,
    // so through a half buffer, widened after (a few MB at most). Larger T: cuBLASLt writes f32 itself.
    Tensor low = Tensor::empty({tokens, out}, x.dtype(), y.device());
    cuda::linear(ctx, x, w, low);
    cuda::convert(ctx, low, y);
    return;
  }
  if (tokens <= kMaxGemvTokens && in % 8 == 0 && x.dtype() != DType::kF32) {
    gemv_with_loads(x.dtype(), w.weight.data(), x.data(), bias, y.data(), static_cast<int>(tokens),
                    static_cast<int>(in), static_cast<int>(out), kGemvDefaultLoads, stream_of(ctx));
    return;
  }
  // Decode batches: weight-streaming tensor-core kernel (linear_skinny.cu); it declines shapes it does not take.
  if (tokens <= kMaxSkinnyTokens &&
      skinny_gemm(x.dtype(), w.weight.data(), x.data(), bias, y.data(), static_cast<int>(tokens), static_cast<int>(in),
                  static_cast<int>(out), stream_of(ctx)))
    return;
  Gemm& gemm = Gemm::instance();
  const GemmPlan& plan = gemm.plan(out, tokens, in, x.dtype(), y.dtype());
  plan.run(gemm.handle(), w.weight.data(), x.data(), y.data(), gemm.workspace(), Gemm::kWorkspaceBytes, stream_of(ctx));
  if (bias != nullptr) {
    dispatch_float(y.dtype(), "linear", [&]<typename T>(T) {
      launch_add_bias<T>(static_cast<T*>(y.data()), bias, tokens, out, stream_of(ctx));
    });
  }
}

namespace {
template void launch_add_bias<float>(float*, const float*, int64_t, int64_t, cudaStream_t);
template void launch_add_bias<bf16_t>(bf16_t*, const float*, int64_t, int64_t, cudaStream_t);
template void launch_add_bias<f16_t>(f16_t*, const float*, int64_t, int64_t, cudaStream_t);
}  // namespace

}  // namespace turbolm::cuda
