// GET /v1/models, /v1/models/{model}, /health, /metrics.

#include "server/handlers.h"
#include "server/openai_format.h"

namespace turbolm::server {
namespace {

// The served model as OpenAI describes one; list and retrieve give the same object.
nlohmann::json model_card(const ServerContext& ctx) {
  static const int64_t created = unix_time();
  return {{"id", ctx.model_name},
          {"object", "model"},
          {"created", created},
          {"owned_by", "turbolm"},
          {"root", ctx.model_name},
          {"parent", nullptr},
          {"max_model_len", ctx.engine.info().session_len},
          {"permission", nlohmann::json::array()}};
}

}  // namespace

asio::awaitable<void> handle_models(ServerContext& ctx, Exchange& ex) {
  nlohmann::json body = {{"object", "list"}, {"data", nlohmann::json::array({model_card(ctx)})}};
  co_await respond_json(ex, 200, body);
}

asio::awaitable<void> handle_model(ServerContext& ctx, Exchange& ex) {
  const std::string_view id = ex.route_param();
  check_model(ctx, std::string(id));  // the same 404 as a request naming another model
  co_await respond_json(ex, 200, model_card(ctx));
}

asio::awaitable<void> handle_health(ServerContext&, Exchange& ex) { co_await ex.respond(200, "", "text/plain"); }

asio::awaitable<void> handle_metrics(ServerContext& ctx, Exchange& ex) {
  co_await ex.respond(200, ctx.metrics.render(ctx.engine.stats()), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace turbolm::server
