#include "core/cpu_features.h"

#include <cstdlib>
#include <string_view>

namespace turbolm {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.f16c = true;  // every AVX2 CPU we target has F16C; checked below through cpuid
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  unsigned eax, ebx, ecx, edx;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
  f.f16c = (ecx >> 29) & 1;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(1));
  f.avx512bf16 = f.avx512f && ((eax >> 5) & 1);
#endif
  if (const char* cap = std::getenv("TURBOLM_CPU_ISA"); cap != nullptr) {
    std::string_view v(cap);
    if (v == "portable") f = CpuFeatures{};
    if (v == "avx2") {
      f.avx512f = f.avx512bw = f.avx512bf16 = f.avx512vnni = false;
    }
  }
  return f;
}

}  // namespace

std::string CpuFeatures::to_string() const {
  if (has_avx512()) return avx512bf16 ? "avx512+bf16" : "avx512";
  if (has_avx2_fma()) return "avx2";
  return "portable";
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace turbolm
