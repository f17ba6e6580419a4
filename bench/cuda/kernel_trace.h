// Where a region's GPU time goes, kernel by kernel, from CUPTI's activity records (kernels inside CUDA graphs
// included). Nsight Systems is not on the GPU machine; this is the part of it the benchmarks need.
//   KernelTrace trace;  trace.start();  ...work...;  trace.stop();  std::puts(trace.summary(steps).c_str());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace turbolm {

class KernelTrace {
 public:
  struct Kernel {
    std::string name;  // demangled, without namespaces and parameter lists
    uint64_t start_ns = 0, end_ns = 0;
  };

  // False when the build has no CUPTI (the benchmarks then skip the trace).
  static bool available();
  void start();
  // Synchronises the device and collects the records.
  void stop();
  const std::vector<Kernel>& kernels() const { return kernels_; }

  // A markdown table by kernel name, over `steps` repetitions of the traced work: launches per step, mean
  // duration, and the time each adds to the critical path (its end minus the latest end before it: launch
  // gaps, dependency waits and host bubbles land on the kernel after them), plus the whole span per step.
  std::string summary(int steps) const;
  // Kernel by kernel in launch order, averaged over the steps (a step starts at each launch of the first traced
  // kernel's name; every step must launch the same kernels): the `head` first and `tail` last kernels of a step.
  std::string step_timeline(int head, int tail) const;

 private:
  std::vector<Kernel> kernels_;
};

}  // namespace turbolm
