// Endpoint handlers. Each parses its body, runs the engine and writes the response; an exception thrown before
// the response starts becomes an OpenAI error response (http_session.cc).
#pragma once

#include "server/exchange.h"
#include "server/server_context.h"

namespace turbolm::server {

asio::awaitable<void> handle_chat_completions(ServerContext& ctx, Exchange& exchange);  // openai_handlers.cc
asio::awaitable<void> handle_completions(ServerContext& ctx, Exchange& exchange);       // openai_handlers.cc
asio::awaitable<void> handle_encode(ServerContext& ctx, Exchange& exchange);            // lmdeploy_handlers.cc
asio::awaitable<void> handle_get_ppl(ServerContext& ctx, Exchange& exchange);           // lmdeploy_handlers.cc
asio::awaitable<void> handle_generate(ServerContext& ctx, Exchange& exchange);          // lmdeploy_handlers.cc
asio::awaitable<void> handle_abort(ServerContext& ctx, Exchange& exchange);             // lmdeploy_handlers.cc
asio::awaitable<void> handle_models(ServerContext& ctx, Exchange& exchange);            // info_handlers.cc
asio::awaitable<void> handle_model(ServerContext& ctx, Exchange& exchange);             // info_handlers.cc
asio::awaitable<void> handle_health(ServerContext& ctx, Exchange& exchange);            // info_handlers.cc
asio::awaitable<void> handle_metrics(ServerContext& ctx, Exchange& exchange);           // info_handlers.cc

}  // namespace turbolm::server
