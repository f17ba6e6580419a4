#include "parallel/tp_devices.h"

#include "core/error.h"

#if TURBOLM_WITH_NCCL
#include <cuda_runtime_api.h>
#endif

namespace turbolm {

void check_tensor_parallel_devices(int tp, Device device) {
  TLM_CHECK_ARG(tp >= 1) << "--tp must be >= 1, got " << tp;
  if (tp == 1) return;
  if (device.is_cpu()) {
    TLM_FAIL(kUnsupported) << "--tp " << tp << " runs on CUDA GPUs; the CPU backend runs the whole model (--tp 1)";
  }
#if TURBOLM_WITH_NCCL
  int visible = 0;
  if (cudaGetDeviceCount(&visible) != cudaSuccess) visible = 0;
  TLM_CHECK_ARG(visible >= tp) << "--tp " << tp << " needs " << tp << " GPUs; " << visible << " visible";
#else
  TLM_FAIL(kUnsupported) << "--tp " << tp << " needs a build with the CUDA backend and NCCL";
#endif
}

}  // namespace turbolm
