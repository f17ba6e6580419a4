#include "kernels/cpu/isa.h"

#include <algorithm>
#include <atomic>

#include "core/cpu_features.h"

namespace turbolm::cpu {
namespace {
std::atomic<Isa> g_cap{Isa::kAvx512Bf16};
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kPortable: return "portable";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Bf16: return "avx512bf16";
  }
  return "?";
}

Isa detected_isa() {
  static const Isa isa = [] {
    const CpuFeatures& f = cpu_features();
    if (f.has_avx512() && f.avx512bf16) return Isa::kAvx512Bf16;
    if (f.has_avx512()) return Isa::kAvx512;
    if (f.has_avx2_fma()) return Isa::kAvx2;
    return Isa::kPortable;
  }();
  return isa;
}

Isa active_isa() { return std::min(detected_isa(), g_cap.load(std::memory_order_relaxed)); }

ScopedIsaCap::ScopedIsaCap(Isa cap) : previous_(g_cap.exchange(cap)) {}
ScopedIsaCap::~ScopedIsaCap() { g_cap.store(previous_); }

}  // namespace turbolm::cpu
