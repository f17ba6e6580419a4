// Helpers for the op tests: random tensors (never zeros), conversions to f64 for the references, and the list
// of CPU ISA levels this machine can run (each test runs every one of them).
#pragma once

#include <cmath>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/isa.h"

namespace turbolm::test {

inline std::vector<cpu::Isa> available_isas() {
  std::vector<cpu::Isa> out;
  for (cpu::Isa isa : {cpu::Isa::kPortable, cpu::Isa::kAvx2, cpu::Isa::kAvx512, cpu::Isa::kAvx512Bf16})
    if (isa <= cpu::detected_isa()) out.push_back(isa);
  return out;
}

inline double element(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kF32: return t.data<float>()[i];
    case DType::kBF16: return bf16_to_float(t.data<bf16>()[i]);
    case DType::kF16: return f16_to_float(t.data<f16>()[i]);
    case DType::kI32: return t.data<int32_t>()[i];
    default: return NAN;
  }
}

inline void set_element(Tensor& t, int64_t i, double v) {
  switch (t.dtype()) {
    case DType::kF32: t.data<float>()[i] = static_cast<float>(v); break;
    case DType::kBF16: t.data<bf16>()[i] = float_to_bf16(static_cast<float>(v)); break;
    case DType::kF16: t.data<f16>()[i] = float_to_f16(static_cast<float>(v)); break;
    default: break;
  }
}

// Uniform in [lo, hi) away from zero: |v| >= 0.01 * max(|lo|, |hi|), so no test passes on zeros.
inline Tensor random_tensor(const Shape& shape, DType dtype, std::mt19937& rng, double lo = -1.0, double hi = 1.0) {
  Tensor t = Tensor::empty(shape, dtype);
  std::uniform_real_distribution<double> dist(lo, hi);
  const double floor = 0.01 * std::max(std::abs(lo), std::abs(hi));
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = dist(rng);
    if (std::abs(v) < floor) v = v < 0 ? -floor : floor;
    set_element(t, i, v);
  }
  return t;
}

inline std::vector<double> to_f64(const Tensor& t) {
  std::vector<double> out(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) out[i] = element(t, i);
  return out;
}

inline Tensor i32_tensor(const std::vector<int32_t>& v, Shape shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(v.size())};
  Tensor t = Tensor::empty(shape, DType::kI32);
  std::copy(v.begin(), v.end(), t.data<int32_t>());
  return t;
}

}  // namespace turbolm::test
