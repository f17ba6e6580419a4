#include "engine/placement.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <string>
#include <utility>

#include "core/error.h"
#if TURBOLM_WITH_CUDA
#include "kernels/cuda/cuda_runtime.h"
#endif

namespace turbolm {

namespace {

// A CUDA device that exists, or a clear error (not the runtime's "driver version is insufficient" from deep
// inside the first CUDA call on a machine without a GPU).
Device checked_cuda(std::string_view name, int index) {
#if TURBOLM_WITH_CUDA
  const int count = cuda_device_count();
  if (count == 0)
    TLM_FAIL(kUnsupported) << "--device " << name
                           << ": no CUDA GPU is visible (no driver, no device, or CUDA_VISIBLE_DEVICES hides them)";
  TLM_CHECK_ARG(index < count) << "--device " << name << ": " << count
                               << " CUDA GPU(s) visible (cuda:0 to cuda:" << count - 1 << ")";
  return Device::cuda(index);
#else
  // Without this, the first device allocation failed after the model had loaded, without naming the flag.
  (void)index;
  TLM_FAIL(kUnsupported) << "--device " << name
                         << ": this build of turbolm has no CUDA backend (configure with -DTURBOLM_CUDA=ON)";
#endif
}

}  // namespace

Device resolve_device(std::string_view name) {
  if (name == "auto") {
#if TURBOLM_WITH_CUDA
    if (cuda_device_available()) return Device::cuda(0);
#endif
    return Device::cpu();
  }
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return checked_cuda(name, 0);
  if (name.starts_with("cuda:")) {
    std::string index(name.substr(5));
    TLM_CHECK_ARG(!index.empty() && index.find_first_not_of("0123456789") == std::string::npos)
        << "bad device '" << name << "': expected auto, cpu, cuda or cuda:N";
    TLM_CHECK_ARG(index.size() <= 4) << "bad device '" << name << "': no GPU has that index";
    return checked_cuda(name, std::stoi(index));
  }
  TLM_FAIL(kInvalidArgument) << "bad device '" << name << "': expected auto, cpu, cuda or cuda:N";
}

size_t available_memory(Device device) {
  if (device.is_cuda()) {
#if TURBOLM_WITH_CUDA
    return cuda_free_memory_bytes(device.index);
#else
    TLM_FAIL(kUnsupported) << "this build of turbolm has no CUDA backend (configure with -DTURBOLM_CUDA=ON)";
#endif
  }
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  TLM_FAIL(kUnsupported)
      << "cannot read MemAvailable from /proc/meminfo; pass --cache-max-entry-count as a block count";
}

int default_max_batch_size(std::string_view device_name, bool is_cuda) {
  if (!is_cuda) return 128;
  std::string name(device_name);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  // LMDeploy's table (lmdeploy/utils.py get_max_batch_size), matched on the driver's device name.
  for (const auto& [key, size] : {std::pair<const char*, int>{"a100", 384},
                                  {"a800", 384},
                                  {"h100", 1024},
                                  {"h800", 1024},
                                  {"l20y", 1024},
                                  {"h200", 1024}})
    if (name.find(key) != std::string::npos) return size;
  return 128;
}

int default_max_batch_size(Device device) {
  if (!device.is_cuda()) return default_max_batch_size("", false);
#if TURBOLM_WITH_CUDA
  return default_max_batch_size(cuda_device_description(device.index), true);
#else
  return default_max_batch_size("", true);
#endif
}

int64_t kv_pool_blocks(const KvPoolRequest& r) {
  TLM_CHECK_ARG(r.cache_max_entry_count > 0 && std::isfinite(r.cache_max_entry_count))
      << "cache_max_entry_count must be a finite number > 0, got " << r.cache_max_entry_count;
  TLM_CHECK_GT(r.bytes_per_block, 0u);
  if (r.cache_max_entry_count >= 1) {
    const double bytes = std::floor(r.cache_max_entry_count) * static_cast<double>(r.bytes_per_block);
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    TLM_CHECK_ARG(r.available_bytes == 0 ? bytes < 0x1p62 : bytes <= static_cast<double>(r.available_bytes))
        << "cache_max_entry_count " << r.cache_max_entry_count << " blocks need " << bytes / kGiB << " GiB; "
        << static_cast<double>(r.available_bytes) / kGiB
        << " GiB are available (a value below 1 is a fraction of the free memory)";
    return static_cast<int64_t>(r.cache_max_entry_count);
  }
  auto blocks = static_cast<int64_t>(r.cache_max_entry_count * static_cast<double>(r.available_bytes) /
                                     static_cast<double>(r.bytes_per_block));
  return std::max<int64_t>(1, std::min(blocks, r.max_useful_blocks));
}

}  // namespace turbolm
