// `turbolm chat MODEL`: an interactive multi-turn REPL over the Pipeline (LMDeploy's `lmdeploy chat`).
// Lines are read until EOF, so a pipe can drive it. /reset (or reset) clears the history, /exit (or exit) quits;
// Ctrl-C stops the reply being generated, and Ctrl-C twice in a row at the prompt exits.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "cli/chat_input.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/length_limit.h"
#include "cli/sampling_options.h"
#include "cli/stdin_input.h"
#include "core/error.h"
#include "turbolm/pipeline.h"

namespace turbolm::cli {

namespace {

volatile sig_atomic_t g_interrupted = 0;

void on_sigint(int) { g_interrupted = 1; }

struct ChatOptions {
  std::string model;
  EngineConfig engine{.max_batch_size = 1};
  GenerationConfig gen;
};

// Reads one line; false at EOF, turbolm::Error when stdin cannot be read. An interrupt at the prompt returns true
// with `interrupted` set.
bool read_line(std::string& line, bool& interrupted) {
  interrupted = false;
  if (std::getline(std::cin, line)) {
    if (line.ends_with('\r')) line.pop_back();  // a CRLF line end (a file written on Windows) is no part of it
    return true;
  }
  if (g_interrupted) {
    g_interrupted = 0;
    interrupted = true;
    std::cin.clear();
    clearerr(stdin);
    return true;
  }
  check_stdin_read();  // a closed or unreadable stdin is not an empty conversation
  return false;
}

void run_chat(const ChatOptions& opt) {
  Pipeline pipe(opt.model, opt.engine);
  TLM_CHECK_ARG(pipe.engine().info().has_tokenizer)
      << opt.model << " has no tokenizer (tokenizer.json, tokenizer.model or vocab.json + merges.txt): chat needs one";
  // Only once the model is loaded: Ctrl-C during the load ends the command as usual (it used to be swallowed,
  // the load went on and the flag then stopped the first reply).
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocked read returns, so Ctrl-C at the prompt is seen
  sigaction(SIGINT, &action, nullptr);

  const bool interactive = isatty(STDIN_FILENO) != 0;
  if (interactive) {
    std::fprintf(stderr, "turbolm chat: %s. /reset clears the history, /exit quits, Ctrl-C stops a reply.\n",
                 pipe.engine().info().model_name.c_str());
  }
  ChatSession session;
  bool interrupted_at_prompt = false;
  int failed_turns = 0;
  for (;;) {
    if (interactive) std::fputs("\n>>> ", stdout), std::fflush(stdout);
    std::string line;
    bool interrupted;
    if (!read_line(line, interrupted)) break;
    if (interrupted) {
      if (interrupted_at_prompt) break;
      interrupted_at_prompt = true;
      std::fputs("\n(Ctrl-C again or /exit to quit)", stderr);  // notices: stdout carries only replies
      continue;
    }
    interrupted_at_prompt = false;
    const ChatLine kind = classify_chat_line(line);
    if (kind == ChatLine::kBlank) continue;
    if (kind == ChatLine::kExit) break;
    if (kind == ChatLine::kReset) {
      session.reset();
      std::fputs("(history cleared)\n", stderr);
      continue;
    }

    // Ctrl-C during the reply: the watcher turns the signal flag into a stop request (cancels the request).
    std::stop_source stop;
    std::jthread watcher([&stop](std::stop_token done) {
      while (!done.stop_requested()) {
        if (g_interrupted) {
          g_interrupted = 0;
          stop.request_stop();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    Response reply;
    std::optional<std::string> error;
    try {
      reply = pipe.chat(
          session, line, opt.gen,
          [](const GenerationOutput& chunk) {
            std::fwrite(chunk.text.data(), 1, chunk.text.size(), stdout);
            std::fflush(stdout);
          },
          stop.get_token());
    } catch (const Error& e) {
      error = e.what();
    }
    watcher.request_stop();
    watcher.join();
    if (error) {
      // A turn that cannot run (e.g. the history outgrew --session-len) leaves the history as it was; the
      // conversation goes on.
      ++failed_turns;
      std::fflush(stdout);
      std::fprintf(stderr, "turbolm: error: %s\n(this turn was dropped; /reset clears the history)\n", error->c_str());
      continue;
    }
    if (reply.finish_reason == FinishReason::kAbort) std::fputs(" [stopped]", stdout);
    if (reply.finish_reason == FinishReason::kError) std::fprintf(stdout, " [error: %s]", reply.error.c_str());
    std::fputs("\n", stdout);
    std::fflush(stdout);
    warn_if_cut_short(pipe.engine(), reply.finish_reason, reply.input_tokens, reply.output_tokens,
                      opt.gen.max_new_tokens);
  }
  // Piped input: turns that failed make the exit status say so.
  if (!interactive && failed_turns > 0) TLM_FAIL(kInvalidArgument) << failed_turns << " turn(s) failed";
}

void add_chat(CLI::App& app) {
  auto opt = std::make_shared<ChatOptions>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a model in the terminal (multi-turn, streaming)");
  cmd->add_option("model", opt->model, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  add_engine_options(*cmd, opt->engine);
  const SamplingFlags sampling = add_sampling_options(*cmd, opt->gen);
  cmd->footer(
      "In the chat: /reset (or reset) clears the history, /exit (or exit, or Ctrl-D) quits, Ctrl-C stops a reply.\n"
      "Example:\n  turbolm chat DIR --session-len 4096 --chat-template FILE.jinja --temperature 0.7");
  cmd->callback([opt, sampling] {
    // Checked before the model loads: a bad value would otherwise fail every turn of the conversation.
    apply_sampling_options(sampling, opt->gen);
    run_chat(*opt);
  });
}

}  // namespace

TLM_REGISTER_COMMAND(20, add_chat);

}  // namespace turbolm::cli
