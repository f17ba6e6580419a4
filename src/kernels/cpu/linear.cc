// CPU linear: picks the ISA path, plus the portable kernel every CPU can run.
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/linear_kernels.h"

namespace turbolm::cpu {
namespace detail {
namespace {

template <typename WT>
float to_f32(WT v) {
  if constexpr (std::is_same_v<WT, bf16>) return bf16_to_float(v);
  if constexpr (std::is_same_v<WT, f16>) return f16_to_float(v);
  if constexpr (std::is_same_v<WT, float>) return v;
}

// Threads split the output features; each weight row is converted to f32 once and dotted with every token.
template <typename WT>
void portable(ThreadPool& pool, const GemmArgs& a) {
  const WT* w = static_cast<const WT*>(a.w);
  pool.parallel_for(
      a.N,
      [&](int64_t n0, int64_t n1) {
        std::vector<float> row(static_cast<size_t>(a.K));
        for (int64_t n = n0; n < n1; ++n) {
          for (int64_t k = 0; k < a.K; ++k) row[k] = to_f32(w[n * a.K + k]);
          for (int64_t t = 0; t < a.T; ++t) {
            const float* x = a.x + t * a.K;
            float s[4] = {0, 0, 0, 0};
            int64_t k = 0;
            for (; k + 4 <= a.K; k += 4)
              for (int j = 0; j < 4; ++j) s[j] += x[k + j] * row[k + j];
            for (; k < a.K; ++k) s[0] += x[k] * row[k];
            a.y[t * a.N + n] = (s[0] + s[1]) + (s[2] + s[3]) + (a.bias != nullptr ? a.bias[n] : 0.0f);
          }
        }
      },
      gemv_grain(a));
}

}  // namespace

void linear_portable(ThreadPool& pool, const GemmArgs& a) {
  switch (a.wtype) {
    case DType::kF32: return portable<float>(pool, a);
    case DType::kBF16: return portable<bf16>(pool, a);
    case DType::kF16: return portable<f16>(pool, a);
    default: TLM_FAIL(kUnsupported) << "linear: weight dtype " << dtype_name(a.wtype) << " on CPU";
  }
}

}  // namespace detail

void linear(const ExecContext& ctx, const Tensor& x, const LinearWeight& w, Tensor& y) {
  detail::GemmArgs args;
  args.T = x.numel() / x.dim(-1);
  args.K = w.in_features();
  args.N = w.out_features();
  args.x = x.data<float>();
  args.y = y.data<float>();
  args.w = w.weight.data();
  args.wtype = w.weight.dtype();
  std::vector<float> bias;
  if (w.bias.defined()) {
    if (w.bias.dtype() == DType::kF32) {
      args.bias = w.bias.data<float>();
    } else {  // bf16 / f16 bias (e.g. Qwen2 qkv bias kept in its checkpoint dtype): N floats, cheap
      bias.resize(static_cast<size_t>(args.N));
      for (int64_t n = 0; n < args.N; ++n)
        bias[n] = w.bias.dtype() == DType::kBF16 ? bf16_to_float(w.bias.data<bf16>()[n])
                                                 : f16_to_float(w.bias.data<f16>()[n]);
      args.bias = bias.data();
    }
  }
  if (args.T == 0 || args.N == 0) return;
  ThreadPool& pool = ctx.threads();
  switch (active_isa()) {
    case Isa::kAvx512Bf16: return detail::linear_avx512(pool, args, /*use_bf16_dot=*/true);
    case Isa::kAvx512: return detail::linear_avx512(pool, args, /*use_bf16_dot=*/false);
    case Isa::kAvx2: return detail::linear_avx2(pool, args);
    case Isa::kPortable: return detail::linear_portable(pool, args);
  }
}

}  // namespace turbolm::cpu
