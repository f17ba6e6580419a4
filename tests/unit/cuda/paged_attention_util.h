// The paged layout of one attention step for the CUDA attention tests: block tables over shuffled physical
// blocks, the slots of every context token, and the AttentionMetadata describing the step.
#pragma once

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "cuda_test_util.h"
#include "ops/attention.h"

namespace turbolm::cuda_test {

struct PagedStep {
  int64_t block_size = 0;
  int64_t num_seqs = 0, num_tokens = 0;  // S sequences, T query rows
  int64_t num_blocks = 0;                // physical blocks of the cache (a few spare)
  int64_t max_blocks = 0;                // block table row length
  int64_t max_query_len = 0, max_context_len = 0;
  std::vector<int32_t> query_start;   // [S + 1]
  std::vector<int32_t> context_lens;  // [S]
  std::vector<int32_t> tables;        // [S, max_blocks]
  std::vector<int32_t> all_slots;     // every context token's slot, sequence by sequence, in position order
  std::vector<int32_t> step_slots;    // [T] the slots of this step's query tokens (the last ones of each context)
};

// seqs: per sequence (query_len, context_len). Physical blocks are shuffled (seeded), so that a kernel assuming
// contiguous blocks fails.
inline PagedStep make_paged_step(const std::vector<std::pair<int, int>>& seqs, int64_t block_size, uint32_t seed) {
  PagedStep step;
  step.block_size = block_size;
  step.num_seqs = static_cast<int64_t>(seqs.size());
  step.query_start = {0};
  std::vector<int64_t> block_counts;
  int64_t total_blocks = 0;
  for (auto [q_len, ctx_len] : seqs) {
    step.query_start.push_back(step.query_start.back() + q_len);
    step.context_lens.push_back(ctx_len);
    const int64_t blocks = (ctx_len + block_size - 1) / block_size;
    block_counts.push_back(blocks);
    step.max_blocks = std::max(step.max_blocks, blocks);
    total_blocks += blocks;
    step.max_query_len = std::max<int64_t>(step.max_query_len, q_len);
    step.max_context_len = std::max<int64_t>(step.max_context_len, ctx_len);
  }
  step.num_tokens = step.query_start.back();
  step.num_blocks = total_blocks + 3;
  std::vector<int32_t> physical(step.num_blocks);
  std::iota(physical.begin(), physical.end(), 0);
  std::shuffle(physical.begin(), physical.end(), std::mt19937(seed));
  step.tables.assign(step.num_seqs * step.max_blocks, 0);
  int64_t next = 0;
  for (int64_t s = 0; s < step.num_seqs; ++s)
    for (int64_t b = 0; b < block_counts[s]; ++b) step.tables[s * step.max_blocks + b] = physical[next++];
  auto slot = [&](int64_t s, int32_t pos) {
    return static_cast<int32_t>(step.tables[s * step.max_blocks + pos / block_size] * block_size + pos % block_size);
  };
  for (int64_t s = 0; s < step.num_seqs; ++s) {
    for (int32_t p = 0; p < step.context_lens[s]; ++p) step.all_slots.push_back(slot(s, p));
    const int32_t q_len = step.query_start[s + 1] - step.query_start[s];
    for (int32_t p = step.context_lens[s] - q_len; p < step.context_lens[s]; ++p) step.step_slots.push_back(slot(s, p));
  }
  return step;
}

// The step's metadata on the host (the CPU op's) and on the device.
inline AttentionMetadata host_metadata(const PagedStep& step) {
  const int64_t S = step.num_seqs;
  return AttentionMetadata{host_i32(step.query_start, {S + 1}),
                           host_i32(step.context_lens, {S}),
                           host_i32(step.tables, {S, step.max_blocks}),
                           host_i32(step.step_slots, {step.num_tokens}),
                           S,
                           step.max_query_len,
                           step.max_context_len};
}
inline AttentionMetadata device_metadata(const AttentionMetadata& host) {
  return AttentionMetadata{to_gpu(host.query_start),
                           to_gpu(host.context_lens),
                           to_gpu(host.block_tables),
                           to_gpu(host.slot_mapping),
                           host.num_seqs,
                           host.max_query_len,
                           host.max_context_len};
}

}  // namespace turbolm::cuda_test
