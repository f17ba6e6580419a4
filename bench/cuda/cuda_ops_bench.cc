// Per-op timings of the CUDA backend at Qwen3-8B shapes, next to the device's measured ceilings.
// Prints a markdown table: op, shape, median time, achieved bandwidth / FLOP rate.
//   turbolm_cuda_ops_bench [--quick | --gemv | --chain | --sampling]   (--gemv: the copy ceiling and the decode
//   GEMVs only; --chain: a bs1 step's projections; --sampling: the sampling pass only)
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "kernels/cuda/attention_launch.cuh"
#include "kernels/cuda/cuda_runtime.h"
#include "kernels/cuda/linear_gemv.cuh"
#include "kernels/cuda/linear_skinny.cuh"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/fused_linear.h"
#include "ops/kv_cache.h"
#include "ops/linear.h"
#include "ops/norm.h"
#include "ops/qkv_rope_kv_write.h"
#include "ops/rope.h"
#include "ops/sampling.h"
#include "qwen3_8b_projections.h"

namespace turbolm {
namespace {

#define CHECK_CUDA(expr)                                                      \
  do {                                                                        \
    cudaError_t e_ = (expr);                                                  \
    if (e_ != cudaSuccess) {                                                  \
      std::fprintf(stderr, "%s failed: %s\n", #expr, cudaGetErrorString(e_)); \
      std::exit(1);                                                           \
    }                                                                         \
  } while (0)

ExecContext gpu() {
  ExecContext ctx;
  ctx.device = Device::cuda(0);
  return ctx;
}

// Device tensor of random values in [-scale, scale] (never zeros: they run faster than real data). A 1 Mi-element
// random pattern is generated on the host and tiled on the device, so that GB-sized weights cost no host time.
Tensor random_gpu(const Shape& shape, DType dtype, float scale = 1.0f, uint32_t seed = 1) {
  Tensor d = Tensor::empty(shape, dtype, Device::cuda(0));
  const int64_t n = d.numel(), chunk = std::min<int64_t>(n, int64_t{1} << 20);
  Tensor host = Tensor::empty({chunk}, dtype);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  for (int64_t i = 0; i < chunk; ++i) {
    const float v = dist(gen);
    if (dtype == DType::kBF16) host.data<bf16>()[i] = float_to_bf16(v);
    if (dtype == DType::kF16) host.data<f16>()[i] = float_to_f16(v);
    if (dtype == DType::kF32) host.data<float>()[i] = v;
  }
  const size_t elem = dtype_bytes(dtype, 1);
  char* dst = static_cast<char*>(d.data());
  CHECK_CUDA(cudaMemcpy(dst, host.data(), chunk * elem, cudaMemcpyHostToDevice));
  for (int64_t done = chunk; done < n;) {  // double the filled prefix each step
    const int64_t m = std::min(done, n - done);
    CHECK_CUDA(cudaMemcpy(dst + done * elem, dst, m * elem, cudaMemcpyDeviceToDevice));
    done += m;
  }
  return d;
}

Tensor i32_gpu(const std::vector<int32_t>& v, const Shape& shape) {
  Tensor host = Tensor::empty(shape, DType::kI32);
  std::copy(v.begin(), v.end(), host.data<int32_t>());
  Tensor d = Tensor::empty(shape, DType::kI32, Device::cuda(0));
  ExecContext ctx = gpu();
  copy(ctx, host, d);
  return d;
}

// Median of `reps` timings (CUDA events) of `fn`, after warm-up, in microseconds.
double time_us(const std::function<void()>& fn, int reps = 20) {
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  for (int i = 0; i < 3; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    CHECK_CUDA(cudaEventRecord(start));
    fn();
    CHECK_CUDA(cudaEventRecord(stop));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    t.push_back(ms * 1e3);
  }
  CHECK_CUDA(cudaGetLastError());
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void row(const std::string& op, const std::string& shape, double us, double bytes, double flops) {
  std::printf("| %s | %s | %.1f | %.0f | %.1f |\n", op.c_str(), shape.c_str(), us, bytes / us * 1e-3,
              flops / us * 1e-6);
  std::fflush(stdout);
}

void bench_copy() {
  const int64_t n = int64_t{1} << 29;  // 1 GiB of bf16
  Tensor a = random_gpu({n / 1024, 1024}, DType::kBF16),
         b = Tensor::empty({n / 1024, 1024}, DType::kBF16, Device::cuda(0));
  ExecContext ctx = gpu();
  const double us = time_us([&] { copy(ctx, a, b); }, 10);
  row("d2d copy (ceiling)", "1 GiB", us, 2.0 * a.nbytes(), 0);
}

using bench::Projection;
constexpr const auto& kProjections = bench::kQwen3_8bProjections;

std::string shape_label(int64_t tokens, const Projection& p) {
  return "T=" + std::to_string(tokens) + " " + std::to_string(p.out) + "x" + std::to_string(p.in);
}

void bench_linear(bool quick) {
  ExecContext ctx = gpu();
  for (int64_t tokens : {1, 2, 4, 8, 64, 512}) {
    for (const auto& s : kProjections) {
      if (quick && tokens != 1 && tokens != 512) continue;
      LinearWeight w{random_gpu({s.out, s.in}, DType::kBF16, 0.05f, 3), Tensor()};
      Tensor x = random_gpu({tokens, s.in}, DType::kBF16, 1.0f, 4);
      Tensor y = Tensor::empty({tokens, s.out}, DType::kBF16, Device::cuda(0));
      const double us = time_us([&] { linear(ctx, x, w, y); });
      const double bytes = 2.0 * (s.out * s.in + tokens * (s.in + s.out));
      row(std::string("linear ") + s.name, shape_label(tokens, s), us, bytes, 2.0 * tokens * s.out * s.in);
    }
  }
}

// The bulk-copy GEMV's arguments for y = x . w^T (no bias); exits where it cannot take them.
cuda::BulkGemvArgs bulk_args(const Tensor& w, const Tensor& x, Tensor& y) {
  cuda::BulkGemvArgs a;
  if (!cuda::bulk_gemv_operands(x, LinearWeight{w, {}}, a)) std::exit(1);
  a.y = y.data();
  a.y_dtype = y.dtype();
  return a;
}

// The decode GEMVs called directly at T = 1 and 2: the classic kernel at both settings of its knob (16-byte loads
// in flight per lane) and the sm_90 bulk-copy kernel (what linear() takes on Hopper); GB/s counts the weights.
// Each launch alone, so every row pays a whole kernel's ramp-up and drain: bench_decode_chain() shows them
// back to back as a decode step runs them.
void bench_gemv_variants() {
  for (int64_t tokens : {1, 2}) {
    for (const auto& s : kProjections) {
      Tensor w = random_gpu({s.out, s.in}, DType::kBF16, 0.05f, 3);
      Tensor x = random_gpu({tokens, s.in}, DType::kBF16, 1.0f, 4);
      Tensor y = Tensor::empty({tokens, s.out}, DType::kBF16, Device::cuda(0));
      const int t = int(tokens), in = int(s.in), out = int(s.out);
      for (int loads : {4, 8}) {
        const double us = time_us([&] {
          cuda::gemv_with_loads(DType::kBF16, w.data(), x.data(), nullptr, y.data(), t, in, out, loads, nullptr);
        });
        row(std::string("gemv ") + s.name + " (loads " + std::to_string(loads) + ")", shape_label(tokens, s), us,
            2.0 * s.out * s.in, 2.0 * tokens * s.out * s.in);
      }
      bool ok = true;
      const double us = time_us([&] { ok = cuda::gemv_bulk(bulk_args(w, x, y), nullptr); });
      if (ok)
        row(std::string("gemv ") + s.name + " (bulk)", shape_label(tokens, s), us, 2.0 * s.out * s.in,
            2.0 * tokens * s.out * s.in);
    }
  }
}

// The projections of a whole Qwen3-8B decode step at one token, as the model runs them: 36 layers x (qkv, o,
// gate_up, down) with their own weights (13.9 GB, so nothing is served from L2), each reading the previous one's
// output, recorded in one CUDA graph with programmatic dependent launch, then the lm_head. The time per step over
// the bytes is the bandwidth the GEMVs sustain across kernel boundaries: the bs1 decode ceiling without attention
// and sampling. Variants: the classic GEMV, the bulk-copy GEMV, and the fused ops the model runs at one token
// (norm before qkv / gate_up / lm_head, silu before down, residual adds after o / down: ops/fused_linear.h).
void bench_decode_chain() {
  constexpr int kLayers = 36;
  std::vector<LinearWeight> weights;
  for (int l = 0; l < kLayers; ++l)
    for (int p = 0; p < 4; ++p)
      weights.push_back(
          {random_gpu({kProjections[p].out, kProjections[p].in}, DType::kBF16, 0.02f, 3 + l * 4 + p), {}});
  const LinearWeight lm_head{random_gpu({kProjections[4].out, kProjections[4].in}, DType::kBF16, 0.02f, 200), {}};
  const Tensor gamma = random_gpu({4096}, DType::kBF16, 1.0f, 6);
  Tensor a = random_gpu({1, 24576}, DType::kBF16, 1.0f, 4), b = random_gpu({1, 24576}, DType::kBF16, 1.0f, 5);
  Tensor residual = random_gpu({1, 4096}, DType::kBF16, 1.0f, 7);
  Tensor logits = Tensor::empty({1, kProjections[4].out}, DType::kF32, Device::cuda(0));
  double bytes = static_cast<double>(lm_head.weight.nbytes());
  for (const LinearWeight& w : weights) bytes += static_cast<double>(w.weight.nbytes());
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  ExecContext ctx = gpu();
  ctx.stream = stream;
  enum Kind { kClassic, kBulk, kFused };
  const std::pair<Kind, const char*> variants[] = {
      {kClassic, "classic (loads 4)"}, {kBulk, "bulk"}, {kFused, "bulk, fused norm / silu / residual add"}};
  for (const auto& [kind, variant] : variants) {
    auto view = [](Tensor& t, int64_t n) { return t.view({24576}).slice(0, 0, n).view({1, n}); };
    auto gemv = [&](const LinearWeight& w, Tensor& x, Tensor& y) {
      const int in = int(w.weight.dim(1)), out = int(w.weight.dim(0));
      Tensor xv = view(x, in), yv = y.dtype() == DType::kF32 ? y : view(y, out);
      if (kind == kClassic) {
        cuda::gemv_with_loads(DType::kBF16, w.weight.data(), xv.data(), nullptr, yv.data(), 1, in, out, 4, stream);
      } else if (!cuda::gemv_bulk(bulk_args(w.weight, xv, yv), stream)) {
        std::exit(1);
      }
    };
    auto step = [&] {
      for (int l = 0; l < kLayers; ++l) {
        const LinearWeight* w = &weights[l * 4];
        if (kind == kFused) {
          Tensor qkv = view(b, 6144), gate_up = view(b, 24576);
          rms_norm_linear(ctx, residual, gamma, 1e-6f, w[0], qkv);
          Tensor attn = view(b, 4096);
          linear_add(ctx, attn, w[1], residual);
          rms_norm_linear(ctx, residual, gamma, 1e-6f, w[2], gate_up);
          silu_mul_linear_add(ctx, gate_up, w[3], residual);
          continue;
        }
        for (int p = 0; p < 4; ++p) gemv(w[p], p % 2 == 0 ? a : b, p % 2 == 0 ? b : a);  // each reads the one before
      }
      if (kind == kFused) {
        rms_norm_linear(ctx, residual, gamma, 1e-6f, lm_head, logits);
      } else if (kind == kBulk) {
        gemv(lm_head, a, logits);
      } else {  // the classic kernel writes the activation dtype
        gemv(lm_head, a, b);
      }
    };
    step();  // plans, shared-memory limits
    CHECK_CUDA(cudaStreamSynchronize(stream));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CHECK_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    step();
    CHECK_CUDA(cudaStreamEndCapture(stream, &graph));
    CHECK_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    cudaEvent_t start, stop;
    CHECK_CUDA(cudaEventCreate(&start));
    CHECK_CUDA(cudaEventCreate(&stop));
    std::vector<double> ms_runs;
    for (int i = 0; i < 12; ++i) {
      CHECK_CUDA(cudaEventRecord(start, stream));
      CHECK_CUDA(cudaGraphLaunch(exec, stream));
      CHECK_CUDA(cudaEventRecord(stop, stream));
      CHECK_CUDA(cudaEventSynchronize(stop));
      float ms = 0;
      CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
      if (i >= 2) ms_runs.push_back(ms);
    }
    std::sort(ms_runs.begin(), ms_runs.end());
    const double us = ms_runs[ms_runs.size() / 2] * 1e3;
    row(std::string("decode chain: 36 x (qkv, o, gate_up, down) + lm_head, ") + variant, "T=1, one graph", us, bytes,
        bytes);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
  }
  cudaStreamDestroy(stream);
}

// The skinny tensor-core GEMM (kernels/cuda/linear_skinny.cu) called directly, with the plan it picked; GB/s
// counts the weight bytes only (the target: ~2800 on H100, copy ceiling above).
void bench_skinny(bool quick) {
  for (int64_t tokens : {2, 4, 8, 16, 32, 64, 128}) {  // T <= 2: against the GEMV above
    if (quick && tokens != 64) continue;
    for (const auto& s : kProjections) {
      Tensor w = random_gpu({s.out, s.in}, DType::kBF16, 0.05f, 3);
      Tensor x = random_gpu({tokens, s.in}, DType::kBF16, 1.0f, 4);
      Tensor y = Tensor::empty({tokens, s.out}, DType::kBF16, Device::cuda(0));
      const int t = int(tokens), in = int(s.in), out = int(s.out);
      const cuda::SkinnyGemmPlan plan = cuda::skinny_gemm_plan(t, in, out);
      bool ok = true;
      const double us = time_us(
          [&] { ok = cuda::skinny_gemm(DType::kBF16, w.data(), x.data(), nullptr, y.data(), t, in, out, nullptr); });
      if (!ok) continue;
      row(std::string("skinny ") + s.name + " (nt " + std::to_string(plan.token_tile) + " kw " +
              std::to_string(plan.k_warps) + " splits " + std::to_string(plan.splits) + ")",
          shape_label(tokens, s), us, 2.0 * s.out * s.in, 2.0 * tokens * s.out * s.in);
    }
  }
}

// Qwen3-8B's step between the qkv projection and attention (q/k norm, RoPE, bf16 cache write): the fused op against
// the five separate ops it replaced (split, two norms, rope, cache write).
void bench_qkv_rope_kv_write() {
  constexpr int64_t kQHeads = 32, kKvHeads = 8, kD = 128;
  ExecContext ctx = gpu();
  KvCacheSpec spec;
  spec.num_layers = 1;
  spec.num_blocks = 64;
  spec.block_size = 64;
  spec.num_kv_heads = kKvHeads;
  spec.head_dim = kD;
  spec.dtype = DType::kBF16;
  spec.device = Device::cuda(0);
  KvCache cache(spec);
  RopeTable table;
  table.rotary_dim = kD;
  for (int i = 0; i < kD / 2; ++i) table.inv_freq.push_back(static_cast<float>(std::pow(1e6, -2.0 * i / kD)));
  const QkNorm norm{random_gpu({kD}, DType::kBF16), random_gpu({kD}, DType::kBF16), 1e-6f};
  for (int64_t tokens : {1, 64, 512}) {
    std::vector<int32_t> positions(tokens), slots(tokens);
    std::iota(positions.begin(), positions.end(), 100);
    std::iota(slots.begin(), slots.end(), 7);
    const Tensor pos = i32_gpu(positions, {tokens}), slot = i32_gpu(slots, {tokens});
    Tensor qkv = random_gpu({tokens, (kQHeads + 2 * kKvHeads) * kD}, DType::kBF16);
    Tensor q = Tensor::empty({tokens, kQHeads, kD}, DType::kBF16, Device::cuda(0));
    Tensor k = Tensor::empty({tokens, kKvHeads, kD}, DType::kBF16, Device::cuda(0)),
           v = Tensor::empty({tokens, kKvHeads, kD}, DType::kBF16, Device::cuda(0));
    const double bytes = 2.0 * qkv.nbytes();
    const std::string shape = "T=" + std::to_string(tokens) + " 32/8 heads x 128";
    double us = time_us([&] { qkv_rope_kv_write(ctx, qkv, norm, pos, table, slot, cache, 0, q); });
    row("qkv_rope_kv_write (fused)", shape, us, bytes, 0);
    us = time_us([&] {
      Tensor q2 = q.view({tokens, kQHeads * kD}), k2 = k.view({tokens, kKvHeads * kD}),
             v2 = v.view({tokens, kKvHeads * kD});
      split_columns(ctx, qkv, {&q2, &k2, &v2});
      Tensor qh = q.view({tokens * kQHeads, kD}), kh = k.view({tokens * kKvHeads, kD});
      rms_norm(ctx, qh, norm.q, norm.eps, qh);
      rms_norm(ctx, kh, norm.k, norm.eps, kh);
      rope(ctx, q, k, pos, table);
      write_kv_cache(ctx, k, v, slot, cache, 0);
    });
    row("split + q/k norm + rope + write_kv (separate)", shape, us, bytes, 0);
  }
}

void bench_small_ops() {
  ExecContext ctx = gpu();
  for (int64_t tokens : {1, 64, 512}) {
    Tensor res = random_gpu({tokens, 4096}, DType::kBF16), delta = random_gpu({tokens, 4096}, DType::kBF16);
    Tensor gamma = random_gpu({4096}, DType::kBF16), out = Tensor::empty({tokens, 4096}, DType::kBF16, Device::cuda(0));
    double us = time_us([&] { add_rms_norm(ctx, res, delta, gamma, 1e-6f, out); });
    row("add_rms_norm", "T=" + std::to_string(tokens) + " 4096", us, 2.0 * tokens * 4096 * 4, 0);
    Tensor gu = random_gpu({tokens, 24576}, DType::kBF16),
           act = Tensor::empty({tokens, 12288}, DType::kBF16, Device::cuda(0));
    us = time_us([&] { silu_mul(ctx, gu, act); });
    row("silu_mul", "T=" + std::to_string(tokens) + " 12288", us, 2.0 * tokens * 12288 * 3, 0);
  }
  bench_qkv_rope_kv_write();
}

// The two decode kernels called directly on a bf16-activation cache of any kind (paged_attention picks the streamed
// one): one device run compares them. Same conventions as bench_attention's rows; `kind` names the cache.
template <KvQuant Q, int D>
void bench_decode_kernels(const KvCache& cache, const AttentionMetadata& meta, float scale, const Tensor& q,
                          Tensor& out, const std::string& kind, const std::string& shape, double kv_bytes,
                          double flops) {
  using T = __nv_bfloat16;
  const cuda::KvLayer<T, Q> kv = cuda::kv_layer<T, Q>(cache, 0);
  const cuda::AttentionParams p =
      cuda::attention_params(meta, cache.spec().block_size, q.dim(1), cache.spec().num_kv_heads, scale);
  const T* q_ptr = static_cast<const T*>(q.data());
  T* out_ptr = static_cast<T*>(out.data());
  const int max_context_len = static_cast<int>(meta.max_context_len);
  double us = time_us(
      [&] { cuda::launch_decode_attention_streamed<T, Q, D>(q_ptr, kv, p, max_context_len, out_ptr, nullptr); });
  row("attention decode streamed kv " + kind, shape, us, kv_bytes, flops);
  us = time_us([&] { cuda::launch_decode_attention<T, Q, D>(q_ptr, kv, p, max_context_len, out_ptr, nullptr); });
  row("attention decode classic kv " + kind, shape, us, kv_bytes, flops);
}

// Attention at Qwen3-8B geometry (32 q heads, 8 kv heads, head_dim 128, block 64) over a filled cache.
void bench_attention(KvQuant quant) {
  const int64_t block = 64, Hq = 32, Hkv = 8, D = 128;
  struct Case {
    const char* name;
    int seqs, q_len, ctx_len;
  };
  const Case cases[] = {{"decode", 1, 1, 512},   {"decode", 1, 1, 8192},   {"decode", 64, 1, 256},
                        {"decode", 64, 1, 2048}, {"prefill", 1, 512, 512}, {"prefill", 4, 2048, 2048}};
  ExecContext ctx = gpu();
  for (const Case& c : cases) {
    const int64_t blocks_per_seq = (c.ctx_len + block - 1) / block;
    KvCacheSpec spec;
    spec.num_layers = 1;
    spec.num_blocks = blocks_per_seq * c.seqs;
    spec.block_size = block;
    spec.num_kv_heads = Hkv;
    spec.head_dim = D;
    spec.dtype = DType::kBF16;
    spec.quant = quant;
    spec.device = Device::cuda(0);
    KvCache cache(spec);
    // Fill every slot through the writer (random K/V).
    const int64_t slots = spec.num_blocks * block;
    std::vector<int32_t> all(slots);
    std::iota(all.begin(), all.end(), 0);
    write_kv_cache(ctx, random_gpu({slots, Hkv, D}, DType::kBF16, 1.0f, 7),
                   random_gpu({slots, Hkv, D}, DType::kBF16, 1.0f, 8), i32_gpu(all, {slots}), cache, 0);
    std::vector<int32_t> qs = {0}, lens, tables;
    for (int s = 0; s < c.seqs; ++s) {
      qs.push_back(qs.back() + c.q_len);
      lens.push_back(c.ctx_len);
      for (int64_t b = 0; b < blocks_per_seq; ++b) tables.push_back(static_cast<int32_t>(s * blocks_per_seq + b));
    }
    const int64_t T = qs.back();
    std::vector<int32_t> slot_map(T, 0);
    AttentionMetadata meta{i32_gpu(qs, {c.seqs + 1}),
                           i32_gpu(lens, {c.seqs}),
                           i32_gpu(tables, {c.seqs, blocks_per_seq}),
                           i32_gpu(slot_map, {T}),
                           c.seqs,
                           c.q_len,
                           c.ctx_len};
    Tensor q = random_gpu({T, Hq, D}, DType::kBF16, 1.0f, 9),
           out = Tensor::empty({T, Hq, D}, DType::kBF16, Device::cuda(0));
    const float scale = 0.088f;
    const double us = time_us([&] { paged_attention(ctx, q, cache, 0, meta, scale, out); });
    const double kv_bytes = double(c.seqs) * c.ctx_len * Hkv * 2 *
                            (quant == KvQuant::kNone   ? D * 2.0
                             : quant == KvQuant::kInt8 ? D + 8.0
                                                       : D / 2 + 8.0);
    double flops = 0;
    for (int s = 0; s < c.seqs; ++s)  // causal: query i sees ctx - q_len + i + 1 keys
      flops += 4.0 * Hq * D * (double(c.q_len) * (c.ctx_len - c.q_len) + c.q_len * (c.q_len + 1) / 2.0);
    const char* qn = quant == KvQuant::kNone ? "bf16" : quant == KvQuant::kInt8 ? "int8" : "int4";
    const std::string shape =
        "S=" + std::to_string(c.seqs) + " q=" + std::to_string(c.q_len) + " ctx=" + std::to_string(c.ctx_len);
    row(std::string("attention ") + c.name + " kv " + qn, shape, us, kv_bytes, flops);
    if (c.q_len == 1) {
      switch (quant) {
        case KvQuant::kNone:
          bench_decode_kernels<KvQuant::kNone, D>(cache, meta, scale, q, out, qn, shape, kv_bytes, flops);
          break;
        case KvQuant::kInt8:
          bench_decode_kernels<KvQuant::kInt8, D>(cache, meta, scale, q, out, qn, shape, kv_bytes, flops);
          break;
        case KvQuant::kInt4:
          bench_decode_kernels<KvQuant::kInt4, D>(cache, meta, scale, q, out, qn, shape, kv_bytes, flops);
          break;
      }
    }
  }
}

void bench_sampling() {
  ExecContext ctx = gpu();
  for (int rows : {1, 64}) {
    for (bool greedy : {true, false}) {
      Tensor logits = random_gpu({rows, 151936}, DType::kF32, 5.0f, 11);
      std::vector<SamplingParams> params(rows);
      for (auto& p : params) {
        p.greedy = greedy;
        p.temperature = 0.8f;
        p.top_p = 0.95f;
        p.top_k = 50;
      }
      std::vector<std::span<const int32_t>> pen(rows);
      const double us = time_us([&] { sample(ctx, logits, params, pen); }, 10);
      row(greedy ? "sample greedy" : "sample top-k 50 top-p 0.95", "S=" + std::to_string(rows) + " V=151936", us,
          4.0 * rows * 151936, 0);
    }
  }
}

}  // namespace
}  // namespace turbolm

int main(int argc, char** argv) {
  using namespace turbolm;
  if (!cuda_device_available()) {
    std::printf("no CUDA device\n");
    return 0;
  }
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const bool gemv_only = argc > 1 && std::strcmp(argv[1], "--gemv") == 0;
  if (argc > 1 && std::strcmp(argv[1], "--chain") == 0) {
    bench_decode_chain();
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--sampling") == 0) {
    std::printf("| op | shape | median us | GB/s | TFLOP/s |\n| --- | --- | --- | --- | --- |\n");
    bench_sampling();
    return 0;
  }
  std::printf("device: %s\n\n| op | shape | median us | GB/s | TFLOP/s |\n| --- | --- | --- | --- | --- |\n",
              cuda_device_description(0).c_str());
  bench_copy();
  if (gemv_only) {
    bench_gemv_variants();
    bench_decode_chain();
    return 0;
  }
  bench_linear(quick);
  bench_gemv_variants();
  bench_decode_chain();
  bench_skinny(quick);
  bench_small_ops();
  bench_attention(KvQuant::kNone);
  bench_attention(KvQuant::kInt8);
  bench_sampling();
  return 0;
}
