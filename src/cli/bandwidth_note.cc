#include "cli/bandwidth_note.h"

#include <cstdio>

namespace turbolm::cli {

std::string bandwidth_note(double achieved_gbps, double machine_gbps) {
  if (machine_gbps <= 0) return "";
  char text[256];
  if (achieved_gbps > machine_gbps) {
    std::snprintf(text, sizeof text,
                  ", more than the measured %.1f GB/s memory read bandwidth: the weights fit in the CPU caches, so "
                  "this is no memory-bandwidth figure",
                  machine_gbps);
  } else {
    std::snprintf(text, sizeof text, " = %.0f%% of the measured %.1f GB/s read bandwidth",
                  100.0 * achieved_gbps / machine_gbps, machine_gbps);
  }
  return text;
}

}  // namespace turbolm::cli
