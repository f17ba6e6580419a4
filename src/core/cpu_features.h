// Instruction-set detection, so CPU kernels pick AVX-512 / AVX2 / portable paths at run time.
#pragma once

#include <string>

namespace turbolm {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512bf16 = false;
  bool avx512vnni = false;

  bool has_avx2_fma() const { return avx2 && fma && f16c; }
  bool has_avx512() const { return avx512f && avx512bw && has_avx2_fma(); }
  std::string to_string() const;
};

// Detected once; TURBOLM_CPU_ISA=portable|avx2 caps the level (for tests and comparisons; unset: the best the CPU
// has).
const CpuFeatures& cpu_features();

}  // namespace turbolm
