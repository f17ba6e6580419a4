// Where the engine runs and how big its KV pool is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/device.h"

namespace turbolm {

// "auto" | "cpu" | "cuda" | "cuda:N" -> a device. Throws InvalidArgument for anything else.
Device resolve_device(std::string_view name);

// Bytes that could still be allocated on `device` now: MemAvailable (/proc/meminfo) for the host.
size_t available_memory(Device device);

// LMDeploy's default max_batch_size for a GPU, by its name: 1024 on H100 / H800 / H200 / L20Y, 384 on A100 / A800,
// 128 on any other GPU and on the host.
int default_max_batch_size(std::string_view device_name, bool is_cuda);
// The same for `device` (its name from the driver); used when EngineConfig::max_batch_size is 0.
int default_max_batch_size(Device device);

struct KvPoolRequest {
  double cache_max_entry_count = 0.8;  // < 1: fraction of available memory; >= 1: number of blocks
  size_t bytes_per_block = 0;          // across all layers, keys and values (KvCacheSpec::bytes_per_block)
  size_t available_bytes = 0;          // available_memory() after the weights are loaded; 0 = unknown (a count
                                       // is then taken as is)
  int64_t max_useful_blocks = 0;       // max_batch_size full-length sequences: more could never be used
};

// Number of KV blocks for the pool; at least 1. A fraction is capped at max_useful_blocks; a count must fit the
// available memory (else kInvalidArgument saying how much it asks for).
int64_t kv_pool_blocks(const KvPoolRequest& request);

}  // namespace turbolm
