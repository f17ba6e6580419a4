// Where memory lives and ops run.
#pragma once

#include <cstdint>
#include <string>

namespace turbolm {

struct Device {
  enum class Kind : uint8_t { kCPU, kCUDA };
  Kind kind = Kind::kCPU;
  int index = 0;

  static Device cpu() { return {Kind::kCPU, 0}; }
  static Device cuda(int index = 0) { return {Kind::kCUDA, index}; }
  bool is_cpu() const { return kind == Kind::kCPU; }
  bool is_cuda() const { return kind == Kind::kCUDA; }
  bool operator==(const Device&) const = default;
  std::string to_string() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

}  // namespace turbolm
