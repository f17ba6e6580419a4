// `turbolm generate`: one prompt in, generated tokens out. The ids form is how fidelity is checked against
// transformers, so it stays: --prompt-ids 1,2,3 [--json].
#include <cstdio>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "models/sequence_runner.h"
#include "ops/sampling.h"

namespace turbolm::cli {
namespace {

struct GenerateOptions {
  std::string model;
  std::string prompt_ids;
  int max_new_tokens = 64;
  float temperature = 1.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  bool ignore_eos = false;
  bool json = false;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TLM_CHECK_ARG(used > 0 && used == item.size() && value >= 0 && value <= INT32_MAX)
        << "--prompt-ids: '" << item << "' is not a token id (expected comma-separated non-negative integers)";
    ids.push_back(static_cast<int32_t>(value));
  }
  TLM_CHECK_ARG(!ids.empty()) << "--prompt-ids is empty";
  return ids;
}

void run_generate(const GenerateOptions& opt, bool sampling) {
  const std::vector<int32_t> prompt = parse_ids(opt.prompt_ids);
  TLM_CHECK_ARG(opt.max_new_tokens >= 1) << "--max-new-tokens must be at least 1";
  auto model = load_model(opt.model);
  const int64_t vocab = model->config().vocab_size;
  for (int32_t id : prompt)
    TLM_CHECK_ARG(id < vocab) << "token id " << id << " is out of range for vocabulary size " << vocab;
  std::set<int32_t> eos(model->config().eos_token_ids.begin(), model->config().eos_token_ids.end());
  for (int32_t id : GenerationDefaults::from_dir(opt.model).eos_token_ids) eos.insert(id);

  SamplingParams params;
  params.greedy = !sampling;
  params.temperature = opt.temperature;
  params.top_k = opt.top_k;
  params.top_p = opt.top_p;
  params.min_p = opt.min_p;
  params.repetition_penalty = opt.repetition_penalty;
  params.seed = opt.seed;

  ExecContext ctx;
  ctx.device = model->device();
  SequenceRunner runner(*model, static_cast<int64_t>(prompt.size()) + opt.max_new_tokens);
  std::vector<int32_t> history = prompt, generated;
  Tensor logits = runner.feed(ctx, prompt);
  for (int i = 0; i < opt.max_new_tokens; ++i) {
    params.step = static_cast<uint64_t>(i);
    const std::span<const int32_t> penalty(history);
    const SampleResult r = sample(ctx, logits, {&params, 1}, {&penalty, 1})[0];
    generated.push_back(r.token);
    history.push_back(r.token);
    if (!opt.ignore_eos && eos.count(r.token)) break;
    if (i + 1 < opt.max_new_tokens) logits = runner.feed(ctx, {r.token});
  }

  std::string out = opt.json ? "{\"ids\":[" : "";
  for (size_t i = 0; i < generated.size(); ++i) out += (i ? "," : "") + std::to_string(generated[i]);
  out += opt.json ? "]}" : "";
  std::printf("%s\n", out.c_str());
}

void add_generate(CLI::App& app) {
  auto opt = std::make_shared<GenerateOptions>();
  CLI::App* cmd =
      app.add_subcommand("generate", "Generate tokens for one prompt (greedy unless a sampling flag is given)");
  cmd->add_option("--model", opt->model, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--prompt-ids", opt->prompt_ids, "prompt token ids, comma-separated (e.g. 1,2,3)")->required();
  cmd->add_option("--max-new-tokens", opt->max_new_tokens, "tokens to generate at most")->capture_default_str();
  auto* t = cmd->add_option("--temperature", opt->temperature, "sampling temperature (> 0)");
  auto* k = cmd->add_option("--top-k", opt->top_k, "keep the k most likely tokens (0 = off)");
  auto* p = cmd->add_option("--top-p", opt->top_p, "nucleus sampling mass (1 = off)");
  auto* m = cmd->add_option("--min-p", opt->min_p, "drop tokens below min_p x the top probability");
  auto* s = cmd->add_option("--seed", opt->seed, "random seed (same seed, same output)");
  cmd->add_option("--repetition-penalty", opt->repetition_penalty, "HF repetition penalty (1 = off)");
  cmd->add_flag("--ignore-eos", opt->ignore_eos, "keep generating past end-of-sequence tokens");
  cmd->add_flag("--json", opt->json, "print {\"ids\":[...]}");
  cmd->callback([opt, t, k, p, m, s] {
    const bool sampling = t->count() + k->count() + p->count() + m->count() + s->count() > 0;
    if (sampling) TLM_CHECK_ARG(opt->temperature > 0) << "--temperature must be > 0";
    run_generate(*opt, sampling);
  });
}

}  // namespace

TLM_REGISTER_COMMAND(10, add_generate);

}  // namespace turbolm::cli
