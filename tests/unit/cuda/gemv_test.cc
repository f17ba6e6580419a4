// The decode GEMV at both settings of its knob (16-byte loads in flight per lane: 4 / 8) against the CPU linear op.
#include <gtest/gtest.h>

#include "cuda_test_util.h"
#include "kernels/cuda/linear_gemv.cuh"
#include "ops/linear.h"

namespace turbolm {
namespace {

using namespace cuda_test;

TEST(CudaGemvTest, EveryVariantMatchesCpu) {
  TLM_REQUIRE_GPU();
  // (in, out): one warp per row; rows split over 2-8 warps with a partial last split and a partial last block;
  // rows longer than 8 warps' batches (each warp loops).
  for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{320, 37}, {4104, 1999}, {20000, 19}}) {
    for (int64_t tokens : {1, 2}) {
      for (bool with_bias : {false, true}) {
        const auto x = random_values(tokens * in, 5 + tokens, DType::kBF16);
        const auto w = random_values(out * in, 6, DType::kBF16, -0.1f, 0.1f);
        const auto b = random_values(out, 7, DType::kF32);
        LinearWeight cpu_w{host_tensor(w, {out, in}, DType::kBF16),
                           with_bias ? host_tensor(b, {out}, DType::kF32) : Tensor()};
        Tensor cpu_y = Tensor::empty({tokens, out}, DType::kF32);
        linear(cpu_ctx(), host_tensor(x, {tokens, in}, DType::kF32), cpu_w, cpu_y);
        const Tensor gw = to_gpu(cpu_w.weight), gx = to_gpu(host_tensor(x, {tokens, in}, DType::kBF16));
        const Tensor gb = with_bias ? to_gpu(cpu_w.bias) : Tensor();
        for (int loads : {4, 8}) {
          SCOPED_TRACE(testing::Message() << "in " << in << " out " << out << " tokens " << tokens << " bias "
                                          << with_bias << " loads " << loads);
          Tensor y = poisoned_gpu({tokens, out}, DType::kBF16);
          cuda::gemv_with_loads(DType::kBF16, gw.data(), gx.data(),
                                with_bias ? static_cast<const float*>(gb.data()) : nullptr, y.data(),
                                static_cast<int>(tokens), static_cast<int>(in), static_cast<int>(out), loads, nullptr);
          EXPECT_LE(relative_error(values_of(y), values_of(cpu_y)), tolerance(DType::kBF16));
        }
      }
    }
  }
}

}  // namespace
}  // namespace turbolm
