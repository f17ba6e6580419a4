// `turbolm eval ppl`: perplexity of a text file, scored through the engine (paged KV cache, KV quantization)
// with Hugging Face's sliding-window recipe (engine/perplexity.h).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/validators.h"
#include "core/error.h"
#include "engine/perplexity.h"

namespace turbolm::cli {

namespace {

struct PplOptions {
  std::string model;
  std::string text;
  int context = 0;  // 0 = min(session_len, 1024)
  int stride = 0;   // 0 = context / 2
  int max_tokens = 0;
  bool json = false;
  EngineConfig engine;
};

void run_ppl(PplOptions opt) {
  std::ifstream in(opt.text, std::ios::binary);
  TLM_CHECK_ARG(in.good()) << "cannot read " << opt.text;
  std::stringstream buffer;
  buffer << in.rdbuf();

  LlmEngine engine(load_engine_parts(opt.model, opt.engine), opt.engine);
  std::vector<int32_t> ids = engine.encode(buffer.str(), true);
  if (opt.max_tokens > 0 && static_cast<int>(ids.size()) > opt.max_tokens) ids.resize(opt.max_tokens);
  if (opt.context == 0) opt.context = std::min(engine.config().session_len, 1024);
  if (opt.stride == 0) opt.stride = std::max(1, opt.context / 2);

  auto start = std::chrono::steady_clock::now();
  PerplexityResult r = evaluate_perplexity(engine, ids, opt.context, opt.stride);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int quant = engine.config().quant_policy;
  if (opt.json) {
    std::printf(
        "{\"ppl\":%.6f,\"nll\":%.6f,\"tokens\":%lld,\"windows\":%lld,\"context\":%d,\"stride\":%d,"
        "\"quant_policy\":%d,\"seconds\":%.3f}\n",
        r.ppl, r.mean_nll, static_cast<long long>(r.num_tokens), static_cast<long long>(r.num_windows), opt.context,
        opt.stride, quant, seconds);
  } else {
    std::printf("ppl %.4f over %lld tokens (%lld windows, context %d, stride %d, quant_policy %d) in %.1f s\n", r.ppl,
                static_cast<long long>(r.num_tokens), static_cast<long long>(r.num_windows), opt.context, opt.stride,
                quant, seconds);
  }
}

void add_eval_ppl(CLI::App& app) {
  auto opt = std::make_shared<PplOptions>();
  CLI::App& eval = command_group(app, "eval", "Evaluate a model");
  CLI::App* cmd = eval.add_subcommand("ppl", "Perplexity of a text file (Hugging Face sliding window)");
  cmd->add_option("--model", opt->model, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--text", opt->text, "UTF-8 text file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--context", opt->context, "window length in tokens (0 = min(session_len, 1024))");
  cmd->add_option("--stride", opt->stride, "window step in tokens (0 = context / 2)");
  cmd->add_option("--max-tokens", opt->max_tokens, "score only the first N tokens of the text (0 = all)")
      ->check(non_negative());
  cmd->add_flag("--json", opt->json, "print one JSON object");
  add_engine_options(*cmd, opt->engine);
  cmd->footer("Example:\n  turbolm eval ppl --model DIR --text wiki.test.raw --context 1024 --quant-policy 8");
  cmd->callback([opt] { run_ppl(*opt); });
}

}  // namespace

TLM_REGISTER_COMMAND(60, add_eval_ppl);

}  // namespace turbolm::cli
