#include "core/progress_line.h"

#include <cstdio>
#include <utility>

namespace turbolm {

ProgressLine::ProgressLine(std::string label, double every_s)
    : label_(std::move(label)), every_(every_s), start_(std::chrono::steady_clock::now()), last_(start_) {}

void ProgressLine::report(const std::function<std::string()>& what) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < every_) return;
  last_ = now;
  std::fprintf(stderr, "%s: %s, %.0f s\n", label_.c_str(), what().c_str(),
               std::chrono::duration<double>(now - start_).count());
}

}  // namespace turbolm
