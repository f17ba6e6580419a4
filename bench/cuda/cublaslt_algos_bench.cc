// Which cuBLASLt algorithm is fastest for the decode-batch projections (T = 64..256 tokens, Qwen3-8B shapes) when
// the weights come from DRAM, as they do in the model: every candidate the heuristic returns, timed with L2
// flushed before each run, against the heuristic's first choice (the one linear() uses), and each candidate again
// with its K dimension split 2-8 ways. Answers whether tuning the plan is worth it; an earlier attempt timed with
// the operands hot in L2 and picked slower kernels.
//   turbolm_cuda_cublaslt_bench
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cuda/cuda_runtime.h"
#include "qwen3_8b_projections.h"

namespace {

#define CHECK(expr, ok)                                                \
  do {                                                                 \
    if ((expr) != (ok)) {                                              \
      std::fprintf(stderr, "%s failed at line %d\n", #expr, __LINE__); \
      std::exit(1);                                                    \
    }                                                                  \
  } while (0)

constexpr size_t kWorkspaceBytes = size_t{32} << 20;  // linear.cu's
constexpr size_t kFlushBytes = size_t{256} << 20;     // > 5x the 50 MB L2

int algo_attr(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attr) {
  int value = 0;
  size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, &value, sizeof value, &written);
  return value;
}

}  // namespace

int main() {
  if (!turbolm::cuda_device_available()) {
    std::printf("no CUDA device\n");
    return 0;
  }
  cublasLtHandle_t handle;
  CHECK(cublasLtCreate(&handle), CUBLAS_STATUS_SUCCESS);
  void *workspace, *flush, *w, *x, *y;
  CHECK(cudaMalloc(&workspace, kWorkspaceBytes), cudaSuccess);
  CHECK(cudaMalloc(&flush, kFlushBytes), cudaSuccess);
  CHECK(cudaMalloc(&w, size_t{2} * 24576 * 4096), cudaSuccess);  // the largest weight, bf16
  CHECK(cudaMalloc(&x, size_t{2} * 256 * 12288), cudaSuccess);
  CHECK(cudaMalloc(&y, size_t{2} * 256 * 24576), cudaSuccess);
  CHECK(cudaMemset(w, 0x3c, size_t{2} * 24576 * 4096), cudaSuccess);  // bf16 0x3c3c: ~0.0115, not zero
  CHECK(cudaMemset(x, 0x3c, size_t{2} * 256 * 12288), cudaSuccess);
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);

  std::printf("device: %s\n\n", turbolm::cuda_device_description(0).c_str());
  std::printf(
      "| T | proj | candidates | heuristic #0 us | best us (algo id, tile, split-k, stages) | best with split-k us "
      "(same) | best GB/s |\n| --- | --- | --- | --- | --- | --- | --- |\n");
  for (int64_t tokens : {64, 128, 256}) {
    for (const auto& p : turbolm::bench::kQwen3_8bProjections) {
      if (std::string_view(p.name) == "lm_head") continue;  // once per step, and already at ~2.7 TB/s here
      const int64_t m = p.out, n = tokens, k = p.in;
      cublasLtMatmulDesc_t desc;
      CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
      const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
      cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
      cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
      cublasLtMatrixLayout_t a, b, c;
      cublasLtMatrixLayoutCreate(&a, CUDA_R_16BF, k, m, k);
      cublasLtMatrixLayoutCreate(&b, CUDA_R_16BF, k, n, k);
      cublasLtMatrixLayoutCreate(&c, CUDA_R_16BF, m, n, m);
      cublasLtMatmulPreference_t pref;
      cublasLtMatmulPreferenceCreate(&pref);
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspaceBytes,
                                           sizeof kWorkspaceBytes);
      std::vector<cublasLtMatmulHeuristicResult_t> results(32);
      int found = 0;
      CHECK(cublasLtMatmulAlgoGetHeuristic(handle, desc, a, b, c, c, pref, 32, results.data(), &found),
            CUBLAS_STATUS_SUCCESS);
      // Cold median of 6 runs (after one warm-up run); < 0 when cuBLASLt rejects the algorithm.
      auto time_cold = [&](const cublasLtMatmulAlgo_t& algo) {
        const float alpha = 1.0f, beta = 0.0f;
        std::vector<float> times;
        for (int r = 0; r < 7; ++r) {
          cudaMemsetAsync(flush, r, kFlushBytes);
          cudaEventRecord(start);
          const cublasStatus_t status = cublasLtMatmul(handle, desc, &alpha, w, a, x, b, &beta, y, c, y, c, &algo,
                                                       workspace, kWorkspaceBytes, nullptr);
          cudaEventRecord(stop);
          cudaEventSynchronize(stop);
          if (status != CUBLAS_STATUS_SUCCESS) return -1.0;
          float ms = 0;
          cudaEventElapsedTime(&ms, start, stop);
          if (r > 0) times.push_back(ms * 1e3f);
        }
        std::sort(times.begin(), times.end());
        return static_cast<double>(times[times.size() / 2]);
      };
      double heuristic_us = 0, best_us = 1e30, best_split_us = 1e30;
      cublasLtMatmulAlgo_t best_algo{}, best_split_algo{};
      for (int i = 0; i < found; ++i) {
        const double us = time_cold(results[i].algo);
        if (i == 0) heuristic_us = us;
        if (us > 0 && us < best_us) best_us = us, best_algo = results[i].algo;
        // The same algorithm with its K dimension split (cuBLASLt's heuristic never picks it for these shapes,
        // whose output tiles cover only a third of the SMs at T = 64).
        int splitk_support = 0;
        size_t written = 0;
        cublasLtMatmulAlgoCapGetAttribute(&results[i].algo, CUBLASLT_ALGO_CAP_SPLITK_SUPPORT, &splitk_support,
                                          sizeof splitk_support, &written);
        if (splitk_support == 0) continue;
        for (int splits : {2, 3, 4, 6, 8}) {
          cublasLtMatmulAlgo_t algo = results[i].algo;
          const uint32_t split = splits, scheme = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
          cublasLtMatmulAlgoConfigSetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &split, sizeof split);
          cublasLtMatmulAlgoConfigSetAttribute(&algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &scheme, sizeof scheme);
          cublasLtMatmulHeuristicResult_t check{};
          if (cublasLtMatmulAlgoCheck(handle, desc, a, b, c, c, &algo, &check) != CUBLAS_STATUS_SUCCESS ||
              check.workspaceSize > kWorkspaceBytes)
            continue;
          const double us = time_cold(algo);
          if (us > 0 && us < best_split_us) best_split_us = us, best_split_algo = algo;
        }
      }
      CHECK(cudaGetLastError(), cudaSuccess);
      auto describe = [](const cublasLtMatmulAlgo_t& algo) {
        char text[64];
        std::snprintf(text, sizeof text, "%d, %d, %d, %d", algo_attr(algo, CUBLASLT_ALGO_CONFIG_ID),
                      algo_attr(algo, CUBLASLT_ALGO_CONFIG_TILE_ID), algo_attr(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM),
                      algo_attr(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID));
        return std::string(text);
      };
      char split_text[96] = "none";
      if (best_split_us < 1e30)
        std::snprintf(split_text, sizeof split_text, "%.1f (%s)", best_split_us, describe(best_split_algo).c_str());
      std::printf("| %lld | %s | %d | %.1f | %.1f (%s) | %s | %.0f |\n", static_cast<long long>(tokens), p.name, found,
                  heuristic_us, best_us, describe(best_algo).c_str(), split_text,
                  2.0 * m * k / std::min(best_us, best_split_us) * 1e-3);
      std::fflush(stdout);
      cublasLtMatmulPreferenceDestroy(pref);
      cublasLtMatrixLayoutDestroy(c);
      cublasLtMatrixLayoutDestroy(b);
      cublasLtMatrixLayoutDestroy(a);
      cublasLtMatmulDescDestroy(desc);
    }
  }
  return 0;
}
