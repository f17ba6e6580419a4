// linear, norms, element-wise ops and rope on CUDA against the CPU ops, per activation dtype.
#include "ops/elementwise.h"

#include <gtest/gtest.h>

#include "cuda_test_util.h"
#include "ops/linear.h"
#include "ops/norm.h"
#include "ops/rope.h"

namespace turbolm {
namespace {

using namespace cuda_test;

class CudaOpsTest : public ::testing::TestWithParam<DType> {};

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaOpsTest, ::testing::Values(DType::kF32, DType::kBF16, DType::kF16),
                         [](const auto& info) { return std::string(dtype_label(info.param)); });

TEST_P(CudaOpsTest, LinearMatchesCpu) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  // (in, out): one warp per row; 4 warps per row with a partial last split and a partial last block; 8 warps
  // per row, each looping over two batches of loads.
  for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{320, 192}, {4104, 37}, {20000, 19}}) {
    for (int64_t tokens : {1, 2, 3, 7, 33, 64}) {
      for (bool with_bias : {false, true}) {
        SCOPED_TRACE(testing::Message() << "in " << in << " out " << out << " tokens " << tokens << " bias "
                                        << with_bias);
        const auto x = random_values(tokens * in, 1 + tokens, dt);
        const auto w = random_values(out * in, 2, dt, -0.1f, 0.1f);
        const auto b = random_values(out, 3, DType::kF32);
        LinearWeight cpu_w{host_tensor(w, {out, in}, dt), with_bias ? host_tensor(b, {out}, DType::kF32) : Tensor()};
        Tensor cpu_y = Tensor::empty({tokens, out}, DType::kF32);
        ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();
        linear(cctx, host_tensor(x, {tokens, in}, DType::kF32), cpu_w, cpu_y);
        LinearWeight gpu_w{to_gpu(cpu_w.weight), with_bias ? to_gpu(cpu_w.bias) : Tensor()};
        Tensor gpu_y = poisoned_gpu({tokens, out}, dt);
        linear(gctx, to_gpu(host_tensor(x, {tokens, in}, dt)), gpu_w, gpu_y);
        EXPECT_LE(relative_error(values_of(gpu_y), values_of(cpu_y)), tolerance(dt));
      }
    }
  }
}

// f32 output from half activations (the lm_head's logits): the GEMV, skinny and cuBLASLt paths (T = 1, 8, 64).
TEST_P(CudaOpsTest, LinearWritesF32FromHalfActivations) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  if (dt == DType::kF32) GTEST_SKIP() << "f32 activations write f32 anyway (LinearMatchesCpu)";
  const int64_t in = 512, out = 1000;
  for (int64_t tokens : {1, 8, 64}) {
    for (bool with_bias : {false, true}) {
      SCOPED_TRACE(testing::Message() << "tokens " << tokens << " bias " << with_bias);
      const auto x = random_values(tokens * in, 5 + tokens, dt);
      const auto w = random_values(out * in, 6, dt, -0.1f, 0.1f);
      const auto b = random_values(out, 7, DType::kF32);
      LinearWeight cpu_w{host_tensor(w, {out, in}, dt), with_bias ? host_tensor(b, {out}, DType::kF32) : Tensor()};
      Tensor cpu_y = Tensor::empty({tokens, out}, DType::kF32);
      linear(cpu_ctx(), host_tensor(x, {tokens, in}, DType::kF32), cpu_w, cpu_y);
      LinearWeight gpu_w{to_gpu(cpu_w.weight), with_bias ? to_gpu(cpu_w.bias) : Tensor()};
      Tensor gpu_y = poisoned_gpu({tokens, out}, DType::kF32);
      linear(gpu_ctx(), to_gpu(host_tensor(x, {tokens, in}, dt)), gpu_w, gpu_y);
      // The GEMV and skinny paths round to the activation dtype before widening; cuBLASLt keeps f32.
      EXPECT_LE(relative_error(values_of(gpu_y), values_of(cpu_y)), tokens > 32 ? 1e-3 : tolerance(dt));
    }
  }
}

TEST_P(CudaOpsTest, SplitColumnsMatchesCpu) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();
  // 16-byte-wide parts (the vector path) and odd widths (the 2-byte path).
  for (const std::vector<int64_t>& widths : {std::vector<int64_t>{64, 16, 16}, std::vector<int64_t>{5, 3, 9}}) {
    const int64_t tokens = 7, total = widths[0] + widths[1] + widths[2];
    const auto x = random_values(tokens * total, 41, dt);
    const Tensor host = host_tensor(x, {tokens, total}, dt);
    std::vector<Tensor> cpu_parts, gpu_parts;
    for (int64_t w : widths) {
      cpu_parts.push_back(Tensor::empty({tokens, w}, dt));
      gpu_parts.push_back(poisoned_gpu({tokens, w}, dt));
    }
    split_columns(cctx, host, {&cpu_parts[0], &cpu_parts[1], &cpu_parts[2]});
    split_columns(gctx, to_gpu(host), {&gpu_parts[0], &gpu_parts[1], &gpu_parts[2]});
    for (int i = 0; i < 3; ++i) EXPECT_EQ(values_of(gpu_parts[i]), values_of(cpu_parts[i])) << "part " << i;
  }
}

TEST_P(CudaOpsTest, RmsNormAndFusedResidualMatchCpu) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  const int64_t rows = 5, dim = 1024;
  const auto x = random_values(rows * dim, 11, dt, -3.0f, 3.0f);
  const auto r = random_values(rows * dim, 12, dt, -3.0f, 3.0f);
  const auto g = random_values(dim, 13, dt, 0.5f, 1.5f);
  ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();

  Tensor cpu_out = Tensor::empty({rows, dim}, DType::kF32);
  rms_norm(cctx, host_tensor(x, {rows, dim}, DType::kF32), host_tensor(g, {dim}, DType::kF32), 1e-6f, cpu_out);
  Tensor gpu_out = poisoned_gpu({rows, dim}, dt);
  rms_norm(gctx, to_gpu(host_tensor(x, {rows, dim}, dt)), to_gpu(host_tensor(g, {dim}, dt)), 1e-6f, gpu_out);
  EXPECT_LE(relative_error(values_of(gpu_out), values_of(cpu_out)), tolerance(dt));

  Tensor cpu_res = host_tensor(r, {rows, dim}, DType::kF32);
  add_rms_norm(cctx, cpu_res, host_tensor(x, {rows, dim}, DType::kF32), host_tensor(g, {dim}, DType::kF32), 1e-6f,
               cpu_out);
  Tensor gpu_res = to_gpu(host_tensor(r, {rows, dim}, dt));
  Tensor gpu_out2 = poisoned_gpu({rows, dim}, dt);
  add_rms_norm(gctx, gpu_res, to_gpu(host_tensor(x, {rows, dim}, dt)), to_gpu(host_tensor(g, {dim}, DType::kF32)),
               1e-6f, gpu_out2);
  EXPECT_LE(relative_error(values_of(gpu_res), values_of(cpu_res)), tolerance(dt));
  EXPECT_LE(relative_error(values_of(gpu_out2), values_of(cpu_out)), tolerance(dt));
}

TEST_P(CudaOpsTest, SiluMulAndAddMatchCpu) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  const int64_t tokens = 9, inter = 384;
  const auto gu = random_values(tokens * 2 * inter, 21, dt, -4.0f, 4.0f);
  ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();
  Tensor cpu_out = Tensor::empty({tokens, inter}, DType::kF32);
  silu_mul(cctx, host_tensor(gu, {tokens, 2 * inter}, DType::kF32), cpu_out);
  Tensor gpu_out = poisoned_gpu({tokens, inter}, dt);
  silu_mul(gctx, to_gpu(host_tensor(gu, {tokens, 2 * inter}, dt)), gpu_out);
  EXPECT_LE(relative_error(values_of(gpu_out), values_of(cpu_out)), tolerance(dt));

  const auto a = random_values(tokens * inter, 22, dt), b = random_values(tokens * inter, 23, dt);
  add(cctx, host_tensor(a, {tokens, inter}, DType::kF32), host_tensor(b, {tokens, inter}, DType::kF32), cpu_out);
  Tensor gpu_a = to_gpu(host_tensor(a, {tokens, inter}, dt));
  add(gctx, gpu_a, to_gpu(host_tensor(b, {tokens, inter}, dt)), gpu_a);  // out aliases a
  EXPECT_LE(relative_error(values_of(gpu_a), values_of(cpu_out)), tolerance(dt));
}

TEST_P(CudaOpsTest, EmbeddingGatherAndConvertMatchCpu) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  const int64_t vocab = 1000, hidden = 256;
  const auto table = random_values(vocab * hidden, 31, dt);
  const std::vector<int32_t> ids = {5, 999, 0, 5, 123, 42, 777};
  const int64_t n = static_cast<int64_t>(ids.size());
  ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();
  Tensor cpu_out = Tensor::empty({n, hidden}, DType::kF32);
  embedding(cctx, host_i32(ids, {n}), host_tensor(table, {vocab, hidden}, DType::kF32), cpu_out);
  Tensor gpu_out = poisoned_gpu({n, hidden}, dt);
  embedding(gctx, to_gpu(host_i32(ids, {n})), to_gpu(host_tensor(table, {vocab, hidden}, dt)), gpu_out);
  EXPECT_EQ(relative_error(values_of(gpu_out), values_of(cpu_out)), 0.0);

  const std::vector<int32_t> rows = {6, 0, 3};
  Tensor cpu_rows = Tensor::empty({3, hidden}, DType::kF32);
  gather_rows(cctx, cpu_out, host_i32(rows, {3}), cpu_rows);
  Tensor gpu_rows = poisoned_gpu({3, hidden}, dt);
  gather_rows(gctx, gpu_out, host_i32(rows, {3}), gpu_rows);
  EXPECT_EQ(relative_error(values_of(gpu_rows), values_of(cpu_rows)), 0.0);

  for (DType to : {DType::kF32, DType::kBF16, DType::kF16}) {
    Tensor converted = poisoned_gpu({n, hidden}, to);
    convert(gctx, gpu_out, converted);
    std::vector<float> want = values_of(cpu_out);
    for (float& v : want) v = round_to(v, to);
    EXPECT_EQ(relative_error(values_of(converted), want), 0.0) << "to " << dtype_label(to);
  }
}

TEST_P(CudaOpsTest, RopeMatchesCpu) {
  TLM_REQUIRE_GPU();
  const DType dt = GetParam();
  const int64_t tokens = 6, q_heads = 4, k_heads = 2, head_dim = 128;
  const std::vector<int32_t> positions = {0, 1, 17, 511, 2047, 4095};
  for (bool neox : {true, false}) {
    for (int rotary_dim : {128, 64}) {
      SCOPED_TRACE(testing::Message() << "neox " << neox << " rotary_dim " << rotary_dim);
      RopeTable table;
      table.rotary_dim = rotary_dim;
      table.neox_style = neox;
      table.attention_scaling = 1.1f;
      for (int i = 0; i < rotary_dim / 2; ++i)
        table.inv_freq.push_back(static_cast<float>(std::pow(1e6, -2.0 * i / rotary_dim)));
      const auto q = random_values(tokens * q_heads * head_dim, 41, dt);
      const auto k = random_values(tokens * k_heads * head_dim, 42, dt);
      ExecContext cctx = cpu_ctx(), gctx = gpu_ctx();
      Tensor cq = host_tensor(q, {tokens, q_heads, head_dim}, DType::kF32);
      Tensor ck = host_tensor(k, {tokens, k_heads, head_dim}, DType::kF32);
      rope(cctx, cq, ck, host_i32(positions, {tokens}), table);
      Tensor gq = to_gpu(host_tensor(q, {tokens, q_heads, head_dim}, dt));
      Tensor gk = to_gpu(host_tensor(k, {tokens, k_heads, head_dim}, dt));
      rope(gctx, gq, gk, to_gpu(host_i32(positions, {tokens})), table);
      EXPECT_LE(relative_error(values_of(gq), values_of(cq)), tolerance(dt));
      EXPECT_LE(relative_error(values_of(gk), values_of(ck)), tolerance(dt));
    }
  }
}

}  // namespace
}  // namespace turbolm
