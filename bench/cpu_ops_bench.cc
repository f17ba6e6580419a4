// CPU op benchmarks on Qwen3-0.6B shapes (hidden 1024, 16 q / 8 kv heads of 128, intermediate 3072,
// vocab 151936): read bandwidth, GEMV GB/s and GEMM GFLOP/s per shape, and whole-model linear passes for one
// decoded token and a 128-token prefill. Weights rotate over enough copies to defeat the 32 MB L3, so GEMV
// numbers are DRAM numbers like real decoding.
//
//   cpu_ops_bench [--isa portable|avx2|avx512|avx512bf16] [--threads N] [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/memory_bandwidth.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/norm.h"

using namespace turbolm;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

Tensor random_weight(int64_t out, int64_t in, DType dtype, std::mt19937& rng) {
  Tensor w = Tensor::empty({out, in}, dtype);
  std::uniform_int_distribution<int> bits(0, 0x3f);
  // Small random values: bf16/f16 with sign and exponent around 2^-4 (no NaN / Inf, never zero).
  for (int64_t i = 0; i < w.numel(); ++i) {
    const uint16_t mant = static_cast<uint16_t>(bits(rng));
    if (dtype == DType::kBF16) w.data<bf16>()[i].bits = static_cast<uint16_t>(0x3d80 | mant | ((i & 1) << 15));
    if (dtype == DType::kF16) w.data<f16>()[i].bits = static_cast<uint16_t>(0x2c00 | mant | ((i & 1) << 15));
    if (dtype == DType::kF32) w.data<float>()[i] = ((i & 1) ? -1.0f : 1.0f) * (0.05f + mant * 1e-3f);
  }
  return w;
}

Tensor random_act(int64_t T, int64_t K) {
  Tensor x = Tensor::empty({T, K}, DType::kF32);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
  return x;
}

struct Shape2 {
  const char* name;
  int64_t in, out;
};

const Shape2 kShapes[] = {{"q_proj 1024->2048", 1024, 2048}, {"k/v_proj 1024->1024", 1024, 1024},
                          {"o_proj 2048->1024", 2048, 1024}, {"gate_up 1024->6144", 1024, 6144},
                          {"down 3072->1024", 3072, 1024},   {"lm_head 1024->151936", 1024, 151936}};

// Seconds per call (median of `reps` timed rounds of `inner` calls cycling over the weight copies).
double time_linear(const ExecContext& ctx, const std::vector<LinearWeight>& ws, const Tensor& x, Tensor& y, int inner,
                   int reps) {
  for (const auto& w : ws) linear(ctx, x, w, y);  // warm up: page in, thread pool awake
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    for (int i = 0; i < inner; ++i) linear(ctx, x, ws[i % ws.size()], y);
    t.push_back((now() - t0) / inner);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = ThreadPool::default_num_threads();
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    if (a == "--quick") quick = true;
    if (a == "--isa" && i + 1 < argc) {
      const std::string v = argv[++i];
      static cpu::ScopedIsaCap cap(v == "portable" ? cpu::Isa::kPortable
                                   : v == "avx2"   ? cpu::Isa::kAvx2
                                   : v == "avx512" ? cpu::Isa::kAvx512
                                                   : cpu::Isa::kAvx512Bf16);
    }
  }
  ThreadPool pool(threads);
  const ExecContext ctx{Device::cpu(), &pool};
  std::mt19937 rng(1);
  std::printf("isa %s, %d threads\n", std::string(cpu::isa_name(cpu::active_isa())).c_str(), threads);
  std::printf("read bandwidth (1 GiB, best of 5): %.1f GB/s\n\n", cpu::measure_read_bandwidth_gbps(pool));

  std::printf("%-24s %-5s %10s %9s | %10s %9s\n", "shape", "w", "GEMV us", "GB/s", "GEMM T=128", "GFLOP/s");
  for (DType dt : {DType::kBF16, DType::kF16, DType::kF32}) {
    if (quick && dt != DType::kBF16) continue;
    for (const Shape2& s : kShapes) {
      const size_t bytes = dtype_bytes(dt, static_cast<size_t>(s.in * s.out));
      const size_t copies = std::max<size_t>(1, (size_t{256} << 20) / bytes + 1);  // > 256 MB in rotation
      std::vector<LinearWeight> ws;
      for (size_t c = 0; c < copies; ++c) ws.push_back({random_weight(s.out, s.in, dt, rng), {}});
      Tensor x1 = random_act(1, s.in), y1 = Tensor::empty({1, s.out}, DType::kF32);
      const double gemv = time_linear(ctx, ws, x1, y1, static_cast<int>(std::max<size_t>(copies, 20)), 5);
      Tensor xg = random_act(128, s.in), yg = Tensor::empty({128, s.out}, DType::kF32);
      const int gemm_inner = s.out > 100000 ? 1 : 5;
      const double gemm = time_linear(ctx, {ws[0]}, xg, yg, gemm_inner, quick ? 2 : 3);
      std::printf("%-24s %-5s %10.1f %9.1f | %8.2f ms %9.1f\n", s.name, std::string(dtype_name(dt)).c_str(), gemv * 1e6,
                  bytes / gemv / 1e9, gemm * 1e3, 2.0 * 128 * s.in * s.out / gemm / 1e9);
    }
  }

  // Whole-model linear passes: 28 layers of distinct bf16 weights (qkv fused 1024->4096, o, gate_up, down) +
  // lm_head, ~1.19 GB, as one decoded token streams them; and a 128-token prefill (lm_head on the last token).
  {
    std::vector<std::array<LinearWeight, 4>> layers;
    for (int l = 0; l < 28; ++l)
      layers.push_back({LinearWeight{random_weight(4096, 1024, DType::kBF16, rng), {}},
                        LinearWeight{random_weight(1024, 2048, DType::kBF16, rng), {}},
                        LinearWeight{random_weight(6144, 1024, DType::kBF16, rng), {}},
                        LinearWeight{random_weight(1024, 3072, DType::kBF16, rng), {}}});
    const LinearWeight lm{random_weight(151936, 1024, DType::kBF16, rng), {}};
    size_t total = lm.weight.nbytes();
    for (auto& l : layers)
      for (auto& w : l) total += w.weight.nbytes();
    auto pass = [&](int64_t T) {
      Tensor h = random_act(T, 1024), qkv = Tensor::empty({T, 4096}, DType::kF32), a = random_act(T, 2048),
             o = Tensor::empty({T, 1024}, DType::kF32), gu = Tensor::empty({T, 6144}, DType::kF32),
             m = random_act(T, 3072), d = Tensor::empty({T, 1024}, DType::kF32);
      Tensor last = random_act(1, 1024), logits = Tensor::empty({1, 151936}, DType::kF32);
      const double t0 = now();
      for (auto& l : layers) {
        linear(ctx, h, l[0], qkv);
        linear(ctx, a, l[1], o);
        linear(ctx, h, l[2], gu);
        linear(ctx, m, l[3], d);
      }
      linear(ctx, last, lm, logits);
      return now() - t0;
    };
    pass(1);
    std::vector<double> dec;
    for (int i = 0; i < (quick ? 5 : 20); ++i) dec.push_back(pass(1));
    std::sort(dec.begin(), dec.end());
    const double d = dec[dec.size() / 2];
    std::printf("\ndecode linears (28 layers + lm_head, %.2f GB bf16): %.2f ms/token = %.1f tok/s, %.1f GB/s\n",
                total / 1e9, d * 1e3, 1 / d, total / d / 1e9);
    std::vector<double> pre;
    for (int i = 0; i < 3; ++i) pre.push_back(pass(128));
    std::sort(pre.begin(), pre.end());
    const double p = pre[1];
    std::printf("prefill linears (128 tokens): %.1f ms = %.1f tok/s\n", p * 1e3, 128 / p);
  }
  return 0;
}
