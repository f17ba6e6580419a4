// Engine settings, with LMDeploy's TurbomindEngineConfig names and defaults.
#pragma once

#include <string>

namespace turbolm {

struct EngineConfig {
  int tp = 1;                          // tensor-parallel degree (GPUs, over all nodes)
  int nnodes = 1;                      // hosts sharing the tp ranks (docs/tensor_parallel.md)
  int node_rank = 0;                   // this host's index in [0, nnodes)
  std::string dist_init_addr;          // node 0's HOST:PORT for the bootstrap; "" = single node
  int session_len = 0;                 // max tokens per sequence (prompt + output); 0 = model's max positions
  int max_batch_size = 0;              // sequences per step; 0 = LMDeploy's default for the device (1024 on H100)
  double cache_max_entry_count = 0.8;  // < 1: fraction of free memory after weights for KV; >= 1: number of blocks
  int cache_block_seq_len = 64;        // tokens per KV block
  bool enable_prefix_caching = true;
  int quant_policy = 0;              // KV cache: 0 = model dtype, 8 = int8, 4 = int4
  int max_prefill_token_num = 8192;  // token budget per step (chunked prefill)
  std::string device = "auto";       // auto | cpu | cuda | cuda:N
  bool eager_mode = false;           // no CUDA graphs for decode steps (LMDeploy's --eager-mode)
  int num_threads = 0;               // CPU threads (0 = all cores)
  std::string chat_template;         // "" = the model's own; else a built-in name, FILE.jinja or FILE.json
  std::string model_name;            // name reported by the server ("" = folder name)
};

}  // namespace turbolm
