// Settings of the HTTP front end (`turbolm serve api_server` flags that are not engine flags).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/reasoning.h"
#include "server/tool_calls.h"

namespace turbolm::server {

struct ServerConfig {
  std::string host = "0.0.0.0";
  uint16_t port = 23333;  // 0 = any free port (tests)
  std::vector<std::string> api_keys;
  std::string model_name;           // "" = the engine's model name
  int max_concurrent_requests = 0;  // generation requests in flight; 0 = unlimited; beyond it: 429
  // CORS (LMDeploy's --allow-origins/--allow-credentials/--allow-methods/--allow-headers); no origins = off.
  std::vector<std::string> allow_origins;
  bool allow_credentials = false;
  std::vector<std::string> allow_methods = {"*"};
  std::vector<std::string> allow_headers = {"*"};
  size_t max_body_bytes = 32u << 20;  // larger bodies get 413
  double shutdown_grace_s = 10.0;     // on SIGINT/SIGTERM: let in-flight requests finish this long, then abort
  double idle_timeout_s = 300.0;      // keep-alive connections with no request are closed after this
  double write_timeout_s = 120.0;     // a client that accepts no bytes this long is treated as gone
  int io_threads = 2;
  // --tool-call-parser: tool calls in the generated text of a chat request that offered tools come back as
  // OpenAI's tool_calls (kNone: as text).
  ToolCallParser tool_call_parser = ToolCallParser::kNone;
  // --reasoning-parser: the text between <think> and </think> of chat completions comes back as reasoning_content.
  ReasoningParser reasoning_parser = ReasoningParser::kNone;
  // SIGINT/SIGTERM start a graceful shutdown; once run() returns they are ignored for the rest of the process
  // (it is on its way out: a repeated signal must not end it with the signal's status instead of 0).
  bool handle_signals = true;
};

}  // namespace turbolm::server
