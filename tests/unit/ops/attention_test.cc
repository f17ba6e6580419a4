#include "ops/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "test_util.h"

namespace turbolm {
namespace {

struct Seq {
  int64_t query_len, context_len;
};

// What the cache holds for (slot, kv head) as f64, read back by the test's own dequantization.
std::vector<double> cached_row(const KvCache& cache, bool key, int64_t slot, int64_t h) {
  const KvCacheSpec& s = cache.spec();
  const int64_t D = s.head_dim, row = slot * s.num_kv_heads + h;
  const Tensor& t = key ? cache.key(0) : cache.value(0);
  std::vector<double> out(D);
  if (s.quant == KvQuant::kNone) {
    for (int64_t d = 0; d < D; ++d) out[d] = test::element(t, row * D + d);
    return out;
  }
  const float* p = (key ? cache.key_params(0) : cache.value_params(0)).data<float>() + row * 2;
  for (int64_t d = 0; d < D; ++d) {
    const double q = s.quant == KvQuant::kInt8
                         ? static_cast<double>(t.data<int8_t>()[row * D + d])
                         : static_cast<double>((t.data<uint8_t>()[(row * D + d) / 2] >> (4 * (d % 2))) & 0xf);
    out[d] = (q - p[1]) * p[0];
  }
  return out;
}

struct Fixture {
  KvCacheSpec spec;
  std::vector<Seq> seqs;
  int64_t Hq;
};

// Fills every sequence's whole context through write_kv_cache (shuffled physical blocks), runs attention for the
// last query_len tokens of each sequence in one mixed batch, and compares with an f64 softmax over what the cache
// holds. Quantized caches additionally must stay within scale / 2 of the written values.
void run_case(const Fixture& f, ThreadPool& pool, std::mt19937& rng) {
  const KvCacheSpec& spec = f.spec;
  const int64_t B = spec.block_size, Hkv = spec.num_kv_heads, D = spec.head_dim, S = f.seqs.size();
  KvCache cache(spec);
  const ExecContext ctx{Device::cpu(), &pool};
  std::vector<int32_t> blocks(spec.num_blocks);
  std::iota(blocks.begin(), blocks.end(), 0);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  int64_t max_blocks = 0;
  for (const Seq& s : f.seqs) max_blocks = std::max(max_blocks, (s.context_len + B - 1) / B);
  std::vector<int32_t> tables(S * max_blocks, -1);
  size_t used = 0;
  for (int64_t s = 0; s < S; ++s)
    for (int64_t b = 0; b < (f.seqs[s].context_len + B - 1) / B; ++b) tables[s * max_blocks + b] = blocks.at(used++);
  const auto slot = [&](int64_t s, int64_t pos) { return tables[s * max_blocks + pos / B] * B + pos % B; };

  const double quant_steps = spec.quant == KvQuant::kInt8 ? 255 : 15;
  for (int64_t s = 0; s < S; ++s) {
    const int64_t n = f.seqs[s].context_len;
    const Tensor k = test::random_tensor({n, Hkv, D}, DType::kF32, rng, -2, 2);
    const Tensor v = test::random_tensor({n, Hkv, D}, DType::kF32, rng, -2, 2);
    std::vector<int32_t> slots(n);
    for (int64_t p = 0; p < n; ++p) slots[p] = static_cast<int32_t>(slot(s, p));
    write_kv_cache(ctx, k, v, test::i32_tensor(slots), cache, 0);
    if (spec.quant == KvQuant::kNone) continue;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t h = 0; h < Hkv; ++h)
        for (bool key : {true, false}) {
          const auto got = cached_row(cache, key, slots[p], h);
          const float* src = (key ? k : v).data<float>() + (p * Hkv + h) * D;
          const auto [lo, hi] = std::minmax_element(src, src + D);
          const double bound = (*hi - *lo) / quant_steps / 2 + 1e-5;
          for (int64_t d = 0; d < D; ++d) ASSERT_NEAR(got[d], src[d], bound);
        }
  }

  std::vector<int32_t> qs{0}, ctx_lens;
  for (const Seq& s : f.seqs) {
    qs.push_back(qs.back() + s.query_len);
    ctx_lens.push_back(s.context_len);
  }
  const int64_t T = qs.back();
  AttentionMetadata meta;
  meta.query_start = test::i32_tensor(qs);
  meta.context_lens = test::i32_tensor(ctx_lens);
  meta.block_tables = test::i32_tensor(tables, {S, max_blocks});
  meta.num_seqs = S;
  const Tensor q = test::random_tensor({T, f.Hq, D}, DType::kF32, rng, -1, 1);
  Tensor out = Tensor::empty({T, f.Hq, D}, DType::kF32);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  paged_attention(ctx, q, cache, 0, meta, scale, out);

  const int64_t group = f.Hq / Hkv;
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 0; i < f.seqs[s].query_len; ++i) {
      const int64_t t = qs[s] + i, pos = f.seqs[s].context_len - f.seqs[s].query_len + i;
      for (int64_t h = 0; h < f.Hq; ++h) {
        std::vector<double> scores(pos + 1), ref(D, 0.0);
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j <= pos; ++j) {
          const auto kr = cached_row(cache, true, slot(s, j), h / group);
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += test::element(q, (t * f.Hq + h) * D + d) * kr[d];
          scores[j] = dot * scale;
          mx = std::max(mx, scores[j]);
        }
        for (int64_t j = 0; j <= pos; ++j) {
          const double p = std::exp(scores[j] - mx);
          sum += p;
          const auto vr = cached_row(cache, false, slot(s, j), h / group);
          for (int64_t d = 0; d < D; ++d) ref[d] += p * vr[d];
        }
        for (int64_t d = 0; d < D; ++d)
          ASSERT_NEAR(out.data<float>()[(t * f.Hq + h) * D + d], ref[d] / sum, 2e-5)
              << "seq " << s << " row " << i << " head " << h << " d " << d;
      }
    }
}

TEST(PagedAttention, MixedBatchesAllCacheTypesAndIsas) {
  std::mt19937 rng(21);
  ThreadPool pool(2);
  // A fresh prefill, a decode row, a chunked prefill continuing a cached prefix, and a one-token context.
  const std::vector<Seq> seqs = {{37, 37}, {1, 100}, {20, 70}, {1, 1}};
  for (cpu::Isa isa : test::available_isas()) {
    cpu::ScopedIsaCap cap(isa);
    for (int64_t B : {16, 64})
      for (auto [dtype, quant] : {std::pair{DType::kF32, KvQuant::kNone},
                                  {DType::kBF16, KvQuant::kNone},
                                  {DType::kF16, KvQuant::kNone},
                                  {DType::kF32, KvQuant::kInt8},
                                  {DType::kF32, KvQuant::kInt4}}) {
        SCOPED_TRACE(::testing::Message() << cpu::isa_name(isa) << " B=" << B << " dtype=" << dtype_name(dtype)
                                          << " quant=" << static_cast<int>(quant));
        KvCacheSpec spec;
        spec.num_layers = 1;
        spec.block_size = B;
        spec.num_kv_heads = 2;
        spec.head_dim = 64;
        spec.dtype = dtype;
        spec.quant = quant;
        spec.num_blocks = 2 * (300 / B + 4);
        run_case({spec, seqs, /*Hq=*/4}, pool, rng);
      }
  }
}

TEST(PagedAttention, LongContextSplitsOverKeyBlocks) {
  // Few (sequence, head) pairs and many threads: the kernel splits each context into key ranges and merges them.
  std::mt19937 rng(22);
  ThreadPool pool(8);
  KvCacheSpec spec;
  spec.num_layers = 1;
  spec.block_size = 16;
  spec.num_kv_heads = 1;
  spec.head_dim = 128;
  spec.dtype = DType::kBF16;
  spec.num_blocks = 80;
  run_case({spec, {{1, 1000}, {3, 203}}, /*Hq=*/2}, pool, rng);
}

TEST(KvCache, PolicyAndSizes) {
  EXPECT_EQ(kv_quant_from_policy(0), KvQuant::kNone);
  EXPECT_EQ(kv_quant_from_policy(8), KvQuant::kInt8);
  EXPECT_EQ(kv_quant_from_policy(4), KvQuant::kInt4);
  EXPECT_THROW(kv_quant_from_policy(16), Error);
  KvCacheSpec s;
  s.num_layers = 28;
  s.block_size = 64;
  s.num_kv_heads = 8;
  s.head_dim = 128;
  s.dtype = DType::kBF16;
  EXPECT_EQ(s.bytes_per_block(), 28u * 2 * 64 * 8 * 128 * 2);
  s.quant = KvQuant::kInt8;
  EXPECT_EQ(s.bytes_per_block(), 28u * 2 * 64 * 8 * (128 + 8));
  s.quant = KvQuant::kInt4;
  EXPECT_EQ(s.bytes_per_block(), 28u * 2 * 64 * 8 * (64 + 8));
  s.num_blocks = 3;
  s.num_layers = 2;
  KvCache cache(s);
  EXPECT_EQ(cache.key(1).shape(), (Shape{3, 64, 8, 64}));
  EXPECT_EQ(cache.key(1).dtype(), DType::kU8);
  EXPECT_EQ(cache.value_params(0).shape(), (Shape{3, 64, 8, 2}));
}

}  // namespace
}  // namespace turbolm
