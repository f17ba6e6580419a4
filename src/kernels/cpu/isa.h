// Which instruction-set path the CPU kernels take. Detected once from cpu_features() (which already honours
// TURBOLM_CPU_ISA); tests and benchmarks may lower it further in-process to exercise every path.
#pragma once

#include <string_view>

namespace turbolm::cpu {

// Ordered: each level implies the ones before it.
enum class Isa {
  kPortable,    // plain C++, any CPU
  kAvx2,        // AVX2 + FMA + F16C
  kAvx512,      // AVX-512 F/BW/VL (f32 FMA on converted weights)
  kAvx512Bf16,  // + AVX512_BF16: vdpbf16ps for bf16-weight GEMMs
};

std::string_view isa_name(Isa isa);
Isa detected_isa();  // the best level this CPU (and TURBOLM_CPU_ISA) allows
Isa active_isa();    // min(detected_isa(), the in-process cap)

// Lowers the level kernels use while alive (never raises it above detected_isa()). For tests and benchmarks;
// not thread-safe against kernels running concurrently.
class ScopedIsaCap {
 public:
  explicit ScopedIsaCap(Isa cap);
  ~ScopedIsaCap();
  ScopedIsaCap(const ScopedIsaCap&) = delete;
  ScopedIsaCap& operator=(const ScopedIsaCap&) = delete;

 private:
  Isa previous_;
};

}  // namespace turbolm::cpu
