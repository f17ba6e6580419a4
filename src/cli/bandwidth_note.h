// How bench latency puts the bandwidth decode achieves next to the machine's measured read bandwidth.
#pragma once

#include <string>

namespace turbolm::cli {

// The text that follows "decode bandwidth X GB/s (Y MB per token)": the share of `machine_gbps` (the read
// bandwidth of a buffer far larger than the caches; 0 = not measured, e.g. on a GPU: "") that `achieved_gbps` is.
// Decode faster than memory can stream means the weights are read from the CPU caches: a share above 100% would
// pass for a bandwidth bound it is not, so that case says so instead of giving one.
std::string bandwidth_note(double achieved_gbps, double machine_gbps);

}  // namespace turbolm::cli
