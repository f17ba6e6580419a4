// Causal attention over the paged KV cache, for any mix of prefill chunks and decode tokens in one batch.
#pragma once

#include "core/tensor.h"
#include "ops/exec_context.h"
#include "ops/kv_cache.h"

namespace turbolm {

// Describes one step's sequences. Tensors are i32 on the op's device (host for CPU).
// Sequence s owns query rows [query_start[s], query_start[s+1]) of the step's T tokens; after this step its
// cache holds context_lens[s] tokens, so query row i of s sits at position context_lens[s] - query_len + i and
// attends to cache positions [0, that position].
struct AttentionMetadata {
  Tensor query_start;   // [S + 1]
  Tensor context_lens;  // [S]
  Tensor block_tables;  // [S, max_blocks_per_seq]: logical block j of s -> physical block
  Tensor slot_mapping;  // [T]: cache slot (block * block_size + offset) each new token is written to
  int64_t num_seqs = 0;
  int64_t max_query_len = 0;
  int64_t max_context_len = 0;
};

// Writes k, v: [T, Hkv, D] (activation dtype) into layer `layer` of the cache at slot_mapping,
// quantizing when the cache is int8 / int4.
void write_kv_cache(const ExecContext& ctx, const Tensor& k, const Tensor& v, const Tensor& slot_mapping,
                    KvCache& cache, int64_t layer);

// q: [T, Hq, D]; out: [T, Hq, D] (activation dtype). GQA: query head h reads kv head h / (Hq / Hkv).
// softmax(q . k^T * scale) . v with causal masking as described above; f32 accumulation.
void paged_attention(const ExecContext& ctx, const Tensor& q, const KvCache& cache, int64_t layer,
                     const AttentionMetadata& meta, float scale, Tensor& out);

}  // namespace turbolm
