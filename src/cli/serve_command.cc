// `turbolm serve api_server MODEL_DIR`: the OpenAI-compatible HTTP server (LMDeploy's flags and defaults).
#include <cstdio>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/validators.h"
#include "core/error.h"
#include "core/logging.h"
#include "server/server.h"

namespace turbolm::cli {

namespace {

struct ServeOptions {
  std::string model_dir;
  std::string log_level;
  EngineConfig engine;
  server::ServerConfig server;
};

void run_api_server(ServeOptions& opt) {
  if (!opt.log_level.empty()) set_log_level(parse_log_level(opt.log_level));
  TLM_CHECK_ARG(opt.server.max_concurrent_requests >= 0) << "--max-concurrent-requests must be >= 0";
  TLM_CHECK_ARG(opt.server.io_threads >= 1) << "--io-threads must be >= 1";
  TLM_LOG_INFO("loading {}", opt.model_dir);
  std::unique_ptr<Engine> engine = Engine::create(opt.model_dir, opt.engine);
  opt.server.model_name = engine->info().model_name;
  server::Server server(std::move(engine), opt.server);
  uint16_t port = server.listen();
  // One plain line on stdout for scripts and tests waiting for the server.
  std::printf("turbolm api_server: serving %s on http://%s:%u\n", opt.server.model_name.c_str(),
              opt.server.host.c_str(), static_cast<unsigned>(port));
  std::fflush(stdout);
  server.run();
}

void add_serve(CLI::App& app) {
  CLI::App& group = command_group(app, "serve", "Serve a model over HTTP (api_server)");
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* cmd = group.add_subcommand("api_server", "OpenAI-compatible HTTP server (LMDeploy's api_server)");
  cmd->add_option("model_dir", opt->model_dir, "Hugging Face model folder")->required()->check(CLI::ExistingDirectory);
  server::ServerConfig& s = opt->server;
  cmd->add_option("--server-name", s.host, "address to listen on")->capture_default_str();
  cmd->add_option("--server-port", s.port, "port to listen on (0 = any free port)")
      ->check(CLI::Range(0, 65535))  // before the conversion to 16 bits, whose own error names no range
      ->capture_default_str();
  cmd->add_option("--api-keys", s.api_keys, "accepted API keys; requests then need 'Authorization: Bearer KEY'")
      ->expected(1, -1)
      ->check(non_empty("no request can send an empty key, so every one would get 401"));
  cmd->add_option("--max-concurrent-requests", s.max_concurrent_requests,
                  "generation requests handled at once; more get 429 (0 = unlimited)")
      ->capture_default_str();
  cmd->add_option("--allow-origins", s.allow_origins, "CORS: allowed origins ('*' = any; none = CORS off)")
      ->expected(1, -1);
  cmd->add_flag("--allow-credentials", s.allow_credentials, "CORS: allow credentials");
  cmd->add_option("--allow-methods", s.allow_methods, "CORS: allowed methods")->expected(1, -1);
  cmd->add_option("--allow-headers", s.allow_headers, "CORS: allowed headers")->expected(1, -1);
  // Checked as text: CLI11 reads -1 into the size_t as "no limit".
  cmd->add_option("--max-request-bytes", s.max_body_bytes, "largest request body; larger ones get 413")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", s.shutdown_grace_s,
                  "seconds in-flight requests may finish after SIGINT/SIGTERM before they are aborted")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--io-threads", s.io_threads, "threads serving HTTP connections")->capture_default_str();
  cmd->add_option_function<std::string>(
         "--tool-call-parser",
         [&s](const std::string& name) { s.tool_call_parser = server::tool_call_parser_from_name(name); },
         "return the tool calls a model writes in its text as OpenAI tool_calls, for chat requests with tools "
         "(qwen, qwen2d5, qwen3, hermes: <tool_call>{\"name\": ..., \"arguments\": ...}</tool_call>; llama3: a reply "
         "of JSON objects {\"name\": ..., \"parameters\": ...}; internlm, intern-s1: "
         "<|action_start|><|plugin|>{\"name\": ..., \"parameters\": ...}<|action_end|>, the text then keeps special "
         "tokens)")
      ->check(CLI::IsMember(server::tool_call_parser_names()));
  cmd->add_option_function<std::string>(
         "--reasoning-parser",
         [&s](const std::string& name) { s.reasoning_parser = server::reasoning_parser_from_name(name); },
         "return a chat reply's <think>...</think> as reasoning_content (default, deepseek-r1, qwen-qwq, intern-s1: "
         "a reply starts as reasoning; qwen3: only where the reply opens <think>; a request with enable_thinking "
         "false gets all content)")
      ->check(CLI::IsMember(server::reasoning_parser_names()));
  cmd->add_option("--log-level", opt->log_level, "trace|debug|info|warning|error|off");
  cmd->add_flag_callback(
      "--enable-metrics", [] {},
      "accepted for LMDeploy command lines: turbolm always serves Prometheus metrics at /metrics");
  add_engine_options(*cmd, opt->engine);
  cmd->footer(
      "Example:\n  turbolm serve api_server DIR --server-port 23333 --api-keys KEY --cache-max-entry-count 0.8");
  cmd->callback([opt] { run_api_server(*opt); });
}

}  // namespace

TLM_REGISTER_COMMAND(30, add_serve);

}  // namespace turbolm::cli
