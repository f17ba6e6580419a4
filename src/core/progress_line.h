// Progress of a long job (a benchmark, a command) on stderr, where it does not mix with the results on stdout.
// One printer for every layer: the CLI's bench latency and the engine's throughput runs print the same lines.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace turbolm {

class ProgressLine {
 public:
  // Lines start with "<label>: "; one at most every `every_s` seconds and none in the first, so short runs stay
  // quiet.
  explicit ProgressLine(std::string label, double every_s = 2.0);

  // Prints "<label>: <what()>, <elapsed> s" when a line is due; `what` is only called then (this is cheap enough
  // to call once per decoded token).
  void report(const std::function<std::string()>& what);

 private:
  std::string label_;
  std::chrono::duration<double> every_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace turbolm
