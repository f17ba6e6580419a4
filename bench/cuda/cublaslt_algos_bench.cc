// Which cuBLASLt algorithm is fastest for the decode-batch projections (T = 64..256 tokens, Qwen3-8B shapes) when
// the weights come from DRAM, as they do in the model: every candidate the heuristic returns, timed with L2
// flushed before each run, against the heuristic's first choice (the one linear() uses). Answers whether tuning
// the plan at first use is worth it; an earlier attempt timed with the operands hot in L2 and picked slower kernels.
//   turbolm_cuda_cublaslt_bench
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels/cuda/cuda_runtime.h"

namespace {

#define CHECK(expr, ok)                                                \
  do {                                                                 \
    if ((expr) != (ok)) {                                              \
      std::fprintf(stderr, "%s failed at line %d\n", #expr, __LINE__); \
      std::exit(1);                                                    \
    }                                                                  \
  } while (0)

struct Projection {
  const char* name;
  int64_t out, in;
};
constexpr Projection kProjections[] = {
    {"qkv", 6144, 4096}, {"o", 4096, 4096}, {"gate_up", 24576, 4096}, {"down", 4096, 12288}};
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
      "| T | proj | candidates | heuristic #0 us (cold) | best us (cold) | best GB/s | best # (algo id, tile, "
      "split-k, stages) |\n| --- | --- | --- | --- | --- | --- | --- |\n");
  for (int64_t tokens : {64, 128, 256}) {
    for (const auto& p : kProjections) {
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
      double heuristic_us = 0, best_us = 1e30;
      int best = -1;
      for (int i = 0; i < found; ++i) {
        const float alpha = 1.0f, beta = 0.0f;
        std::vector<float> times;
        bool ok = true;
        for (int r = 0; r < 7 && ok; ++r) {
          cudaMemsetAsync(flush, r, kFlushBytes);
          cudaEventRecord(start);
          ok = cublasLtMatmul(handle, desc, &alpha, w, a, x, b, &beta, y, c, y, c, &results[i].algo, workspace,
                              kWorkspaceBytes, nullptr) == CUBLAS_STATUS_SUCCESS;
          cudaEventRecord(stop);
          cudaEventSynchronize(stop);
          float ms = 0;
          cudaEventElapsedTime(&ms, start, stop);
          if (r > 0) times.push_back(ms * 1e3f);  // the first run warms up
        }
        if (!ok) continue;
        std::sort(times.begin(), times.end());
        const double us = times[times.size() / 2];
        if (i == 0) heuristic_us = us;
        if (us < best_us) best_us = us, best = i;
      }
      CHECK(cudaGetLastError(), cudaSuccess);
      const auto& algo = results[best].algo;
      std::printf("| %lld | %s | %d | %.1f | %.1f | %.0f | %d (%d, %d, %d, %d) |\n", static_cast<long long>(tokens),
                  p.name, found, heuristic_us, best_us, 2.0 * m * k / best_us * 1e-3, best,
                  algo_attr(algo, CUBLASLT_ALGO_CONFIG_ID), algo_attr(algo, CUBLASLT_ALGO_CONFIG_TILE_ID),
                  algo_attr(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM), algo_attr(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID));
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
