#include "ops/elementwise.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace turbolm {
namespace {

TEST(SiluMul, MatchesF64Reference) {
  std::mt19937 rng(3);
  ThreadPool pool(2);
  const ExecContext ctx{Device::cpu(), &pool};
  for (cpu::Isa isa : test::available_isas()) {
    cpu::ScopedIsaCap cap(isa);
    for (DType dt : {DType::kF32, DType::kBF16})
      for (auto [T, I] : {std::pair<int64_t, int64_t>{1, 67}, {3, 3072}, {17, 131}}) {
        SCOPED_TRACE(::testing::Message() << cpu::isa_name(isa) << " " << dtype_name(dt) << " T=" << T << " I=" << I);
        const Tensor gu = test::random_tensor({T, 2 * I}, dt, rng, -12, 12);
        Tensor out = Tensor::empty({T, I}, dt);
        silu_mul(ctx, gu, out);
        const auto g = test::to_f64(gu);
        const double tol = dt == DType::kF32 ? 1e-6 : 8e-3;
        for (int64_t t = 0; t < T; ++t)
          for (int64_t i = 0; i < I; ++i) {
            const double gate = g[t * 2 * I + i], up = g[t * 2 * I + I + i];
            const double ref = gate / (1 + std::exp(-gate)) * up;
            ASSERT_NEAR(test::element(out, t * I + i), ref, tol * (1 + std::abs(ref)));
          }
      }
  }
}

TEST(Add, MatchesAndMayAlias) {
  std::mt19937 rng(4);
  for (cpu::Isa isa : test::available_isas()) {
    cpu::ScopedIsaCap cap(isa);
    for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
      Tensor a = test::random_tensor({7, 1001}, dt, rng);
      const Tensor b = test::random_tensor({7, 1001}, dt, rng);
      const auto ad = test::to_f64(a), bd = test::to_f64(b);
      add(ExecContext{}, a, b, a);
      for (int64_t i = 0; i < a.numel(); ++i) {
        const double exact = ad[i] + bd[i];
        Tensor one = Tensor::empty({1}, dt);
        test::set_element(one, 0, exact);  // the correctly rounded sum in dt
        ASSERT_NEAR(test::element(a, i), test::element(one, 0), 1e-6) << dtype_name(dt) << " i=" << i;
      }
    }
  }
}

TEST(Embedding, GathersAndConvertsAndRangeChecks) {
  std::mt19937 rng(5);
  for (DType tt : {DType::kF32, DType::kBF16, DType::kF16}) {
    const Tensor table = test::random_tensor({512, 67}, tt, rng);
    const Tensor ids = test::i32_tensor({3, 511, 0, 3});
    Tensor out = Tensor::empty({4, 67}, DType::kF32);
    embedding(ExecContext{}, ids, table, out);
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t h = 0; h < 67; ++h)
        ASSERT_EQ(test::element(out, t * 67 + h), test::element(table, ids.data<int32_t>()[t] * 67 + h));
    const Tensor bad = test::i32_tensor({1, 600});
    Tensor out2 = Tensor::empty({2, 67}, DType::kF32);
    try {
      embedding(ExecContext{}, bad, table, out2);
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_STREQ(e.what(), "token id 600 is out of range for vocabulary size 512");
    }
  }
}

TEST(SplitColumns, CopiesEachPartsColumnsAndChecksWidths) {
  std::mt19937 rng(7);
  const ExecContext ctx;
  const Tensor src = test::random_tensor({3, 11}, DType::kF32, rng);
  Tensor a = Tensor::empty({3, 6}, DType::kF32), b = Tensor::empty({3, 2}, DType::kF32),
         c = Tensor::empty({3, 3}, DType::kF32);
  split_columns(ctx, src, {&a, &b, &c});
  for (int64_t t = 0; t < 3; ++t) {
    for (int64_t j = 0; j < 11; ++j) {
      const float want = src.data<float>()[t * 11 + j];
      const float got = j < 6   ? a.data<float>()[t * 6 + j]
                        : j < 8 ? b.data<float>()[t * 2 + j - 6]
                                : c.data<float>()[t * 3 + j - 8];
      EXPECT_EQ(got, want) << "row " << t << " column " << j;
    }
  }
  Tensor short_part = Tensor::empty({3, 2}, DType::kF32);
  EXPECT_THROW(split_columns(ctx, src, {&a, &short_part}), Error);  // 8 of 11 columns
  Tensor wrong_rows = Tensor::empty({2, 5}, DType::kF32);
  EXPECT_THROW(split_columns(ctx, src, {&a, &wrong_rows}), Error);
}

TEST(GatherRows, CopyAndConvert) {
  std::mt19937 rng(6);
  const ExecContext ctx;
  const Tensor x = test::random_tensor({5, 13}, DType::kF32, rng);
  const Tensor rows = test::i32_tensor({4, 0, 4});
  Tensor out = Tensor::empty({3, 13}, DType::kF32);
  gather_rows(ctx, x, rows, out);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t h = 0; h < 13; ++h)
      EXPECT_EQ(out.data<float>()[r * 13 + h], x.data<float>()[rows.data<int32_t>()[r] * 13 + h]);

  const Tensor big = test::random_tensor({3, 700001}, DType::kF32, rng);
  Tensor copied = Tensor::empty({3, 700001}, DType::kF32);
  copy(ctx, big, copied);
  EXPECT_EQ(std::memcmp(big.data(), copied.data(), big.nbytes()), 0);

  for (cpu::Isa isa : test::available_isas()) {
    cpu::ScopedIsaCap cap(isa);
    Tensor b = Tensor::empty({3, 700001}, DType::kBF16), h = Tensor::empty({3, 700001}, DType::kF16);
    convert(ctx, big, b);
    convert(ctx, big, h);
    for (int64_t i = 0; i < big.numel(); i += 97) {
      ASSERT_EQ(b.data<bf16>()[i].bits, float_to_bf16(big.data<float>()[i]).bits) << cpu::isa_name(isa);
      ASSERT_EQ(h.data<f16>()[i].bits, float_to_f16(big.data<float>()[i]).bits) << cpu::isa_name(isa);
    }
    Tensor back = Tensor::empty({3, 700001}, DType::kF32);
    convert(ctx, b, back);
    for (int64_t i = 0; i < big.numel(); i += 97) ASSERT_EQ(back.data<float>()[i], bf16_to_float(b.data<bf16>()[i]));
  }
}

TEST(Elementwise, CudaTensorsAreUnsupportedWithoutBackend) {
#if TURBOLM_WITH_CUDA
  GTEST_SKIP() << "this build has the CUDA backend; tests/unit/cuda checks CUDA dispatch";
#endif
  float storage[8] = {};
  Tensor a = Tensor::wrap(storage, {2, 4}, DType::kF32, Device::cuda(0), nullptr);
  Tensor out = Tensor::wrap(storage, {2, 2}, DType::kF32, Device::cuda(0), nullptr);
  try {
    silu_mul(ExecContext{Device::cuda(0), nullptr}, a, out);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("silu_mul"), std::string::npos);
  }
}

}  // namespace
}  // namespace turbolm
