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

struct KvPoolRequest {
  double cache_max_entry_count = 0.8;  // < 1: fraction of available memory; >= 1: number of blocks
  size_t bytes_per_block = 0;          // across all layers, keys and values (KvCacheSpec::bytes_per_block)
  size_t available_bytes = 0;          // available_memory() after the weights are loaded
  int64_t max_useful_blocks = 0;       // max_batch_size full-length sequences: more could never be used
};

// Number of KV blocks for the pool; at least 1. A fraction is capped at max_useful_blocks.
int64_t kv_pool_blocks(const KvPoolRequest& request);

}  // namespace turbolm
