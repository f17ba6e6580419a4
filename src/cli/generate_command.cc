// `turbolm generate`: one prompt in, generated text (or ids) out, through the engine.
// The ids form (--prompt-ids 1,2,3 --json) is how fidelity is checked against transformers, so it stays.
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/length_limit.h"
#include "cli/sampling_options.h"
#include "core/error.h"
#include "turbolm/engine.h"

namespace turbolm::cli {

namespace {

struct GenerateOptions {
  std::string model;
  std::string prompt;
  std::string prompt_ids;
  bool chat = false;
  bool json = false;
  GenerationConfig gen;
  EngineConfig engine;
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

// JSON string literal of `s`; invalid UTF-8 (possible in a user's --prompt) becomes U+FFFD instead of throwing.
std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void run_generate(GenerateOptions opt) {
  TLM_CHECK_ARG(opt.prompt.empty() != opt.prompt_ids.empty())
      << "give exactly one of --prompt (a non-empty text) or --prompt-ids";
  Request request;
  if (!opt.prompt_ids.empty()) {
    request.prompt_ids = parse_ids(opt.prompt_ids);
  } else if (opt.chat) {
    request.messages_json = "[{\"role\":\"user\",\"content\":" + json_string(opt.prompt) + "}]";
  } else {
    request.prompt = opt.prompt;
  }
  request.gen = opt.gen;
  auto engine = Engine::create(opt.model, opt.engine);
  // Said here in the CLI's terms: the engine's own message is worded for the HTTP server ("send token ids").
  TLM_CHECK_ARG(!opt.prompt_ids.empty() || engine->info().has_tokenizer)
      << opt.model
      << " has no tokenizer (tokenizer.json, tokenizer.model or vocab.json + merges.txt): --prompt needs one; "
         "give token ids with --prompt-ids";

  // Text streams to stdout as it is generated, unless the caller wants one JSON object at the end.
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::vector<int32_t> ids;
  std::string text, error;
  FinishReason finish = FinishReason::kNone;
  int input_tokens = 0, output_tokens = 0;
  const bool stream_text = !opt.json && opt.prompt_ids.empty();
  engine->submit(std::move(request), [&](const GenerationOutput& chunk) {
    std::lock_guard<std::mutex> lock(mutex);
    ids.insert(ids.end(), chunk.token_ids.begin(), chunk.token_ids.end());
    text += chunk.text;
    if (stream_text) {
      std::fputs(chunk.text.c_str(), stdout);
      std::fflush(stdout);
    }
    if (chunk.finish_reason != FinishReason::kNone) {
      finish = chunk.finish_reason;
      error = chunk.error;
      input_tokens = chunk.input_tokens;
      output_tokens = chunk.output_tokens;
      done = true;
      done_cv.notify_all();
    }
  });
  std::unique_lock<std::mutex> lock(mutex);
  done_cv.wait(lock, [&] { return done; });
  if (finish == FinishReason::kError) TLM_FAIL(kInternal) << "generation failed: " << error;

  std::string id_list;
  for (size_t i = 0; i < ids.size(); ++i) id_list += (i ? "," : "") + std::to_string(ids[i]);
  if (opt.json) {
    std::printf("{\"ids\":[%s],\"text\":%s,\"finish_reason\":\"%s\"}\n", id_list.c_str(), json_string(text).c_str(),
                std::string(finish_reason_name(finish)).c_str());
  } else if (stream_text) {
    std::printf("\n");
  } else {
    std::printf("%s\n", id_list.c_str());
  }
  std::fflush(stdout);  // the warning goes after the output, not into the middle of its line
  warn_if_cut_short(*engine, finish, input_tokens, output_tokens, opt.gen.max_new_tokens);
}

void add_generate(CLI::App& app) {
  auto opt = std::make_shared<GenerateOptions>();
  opt->gen.max_new_tokens = 64;
  CLI::App* cmd =
      app.add_subcommand("generate", "Generate a continuation of one prompt (greedy unless a sampling flag is given)");
  cmd->add_option("--model", opt->model, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--prompt", opt->prompt, "prompt text (tokenized as is, with the tokenizer's BOS)");
  CLI::Option* ids = cmd->add_option("--prompt-ids", opt->prompt_ids, "prompt token ids, comma-separated (e.g. 1,2,3)");
  // Flags that would be ignored are refused (CLI11 names both).
  cmd->add_flag("--chat", opt->chat, "render --prompt as a user message with the model's chat template")->excludes(ids);
  cmd->add_flag("--json", opt->json, "print {\"ids\":[...],\"text\":...,\"finish_reason\":...}");
  const SamplingFlags sampling = add_sampling_options(*cmd, opt->gen);
  cmd->add_flag("--ignore-eos", opt->gen.ignore_eos, "keep generating past end-of-sequence tokens");
  add_engine_options(*cmd, opt->engine);
  cmd->footer(
      "Examples:\n  turbolm generate --model DIR --prompt \"Shanghai is\" --max-new-tokens 32\n"
      "  turbolm generate --model DIR --prompt-ids 1,2,3 --json --temperature 0.7 --seed 1");
  cmd->callback([opt, sampling] {
    GenerateOptions o = *opt;
    apply_sampling_options(sampling, o.gen);
    run_generate(std::move(o));
  });
}

}  // namespace

TLM_REGISTER_COMMAND(10, add_generate);

}  // namespace turbolm::cli
