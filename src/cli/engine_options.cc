#include "cli/engine_options.h"

#include "cli/validators.h"
#include "core/error.h"
#include "parallel/tcp_bootstrap.h"

namespace turbolm::cli {

void add_engine_options(CLI::App& cmd, EngineConfig& c) {
  cmd.add_option("--session-len", c.session_len, "max tokens per sequence (0 = the model's max positions)")
      ->capture_default_str();
  cmd.add_option("--max-batch-size", c.max_batch_size,
                 "sequences per engine step (0 = LMDeploy's default for the device: 1024 on H100/H200, 384 on A100, "
                 "128 on other GPUs and the CPU)")
      ->check(non_negative())
      ->capture_default_str();
  cmd.add_option("--cache-max-entry-count", c.cache_max_entry_count,
                 "KV cache: < 1 = fraction of free memory after the weights, >= 1 = number of blocks")
      ->capture_default_str();
  cmd.add_option("--cache-block-seq-len", c.cache_block_seq_len, "tokens per KV block")->capture_default_str();
  // Two flags rather than CLI11's "--enable-prefix-caching,!--disable-prefix-caching": its help writes the negation
  // as "--disable-prefix-caching{false}", which reads as the default although caching is on by default.
  CLI::Option* enable = cmd.add_flag("--enable-prefix-caching", c.enable_prefix_caching,
                                     "reuse the KV of shared prompt prefixes (default: on; =false turns it off)");
  cmd.add_flag_callback(
         "--disable-prefix-caching", [&c] { c.enable_prefix_caching = false; },
         "turn prefix caching off (as --enable-prefix-caching=false)")
      ->excludes(enable);
  cmd.add_option("--quant-policy", c.quant_policy, "KV cache quantization: 0 = none, 8 = int8, 4 = int4")
      ->capture_default_str();
  cmd.add_option("--max-prefill-token-num", c.max_prefill_token_num, "prefill tokens per step (chunked prefill)")
      ->capture_default_str();
  cmd.add_option("--chat-template", c.chat_template,
                 "built-in template name, FILE.jinja or ChatTemplateConfig FILE.json");
  cmd.add_option("--device", c.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd.add_flag("--eager-mode", c.eager_mode, "run decode steps kernel by kernel, without CUDA graphs (debugging)");
  // LMDeploy command lines name one of its two engines; turbolm has one engine for what either does.
  cmd.add_option_function<std::string>(
         "--backend", [](const std::string&) {},
         "turbomind | pytorch: accepted so that LMDeploy command lines run unchanged; turbolm has one engine")
      ->check(CLI::IsMember({"turbomind", "pytorch"}));
  cmd.add_option("--tp", c.tp, "tensor-parallel degree: GPUs over all nodes, rank r on GPU r of this host")
      ->capture_default_str();
  // Cross-flag rules (node_rank < nnodes, tp a multiple of nnodes, an address iff nnodes > 1) are checked by
  // Engine::create, so every front end gets them.
  cmd.add_option("--nnodes", c.nnodes, "number of nodes (hosts) the --tp ranks span")
      ->check(positive())
      ->capture_default_str();
  cmd.add_option("--node-rank", c.node_rank, "the rank of this node, in [0, nnodes)")
      ->check(non_negative())
      ->capture_default_str();
  cmd.add_option("--dist-init-addr", c.dist_init_addr,
                 "HOST:PORT of node 0 for the distributed bootstrap, the same on every node (e.g. 10.0.0.1:29500); "
                 "needed when nnodes > 1")
      ->check(CLI::Validator(
          [](std::string& addr) {
            try {
              parse_dist_init_addr(addr);
            } catch (const Error& e) {
              return std::string(e.what());
            }
            return std::string();
          },
          "HOST:PORT"));
  cmd.add_option("--num-threads", c.num_threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd.add_option("--model-name", c.model_name, "name the model reports");
}

}  // namespace turbolm::cli
