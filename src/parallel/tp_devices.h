// Whether a tensor-parallel degree can run here, checked before any weights are loaded.
#pragma once

#include "core/device.h"

namespace turbolm {

// tp < 1: InvalidArgument. tp > 1 needs CUDA: on the CPU, or in a build without the CUDA backend (and NCCL),
// Unsupported; with fewer than tp visible GPUs, InvalidArgument naming both counts. tp == 1 always passes.
void check_tensor_parallel_devices(int tp, Device device);

}  // namespace turbolm
