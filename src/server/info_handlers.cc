// GET /v1/models, /health, /metrics.
#include "server/handlers.h"
#include "server/openai_format.h"

namespace turbolm::server {

asio::awaitable<void> handle_models(ServerContext& ctx, Exchange& ex) {
  static const int64_t created = unix_time();
  nlohmann::json card = {{"id", ctx.model_name},
                         {"object", "model"},
                         {"created", created},
                         {"owned_by", "turbolm"},
                         {"root", ctx.model_name},
                         {"parent", nullptr},
                         {"max_model_len", ctx.engine.info().session_len},
                         {"permission", nlohmann::json::array()}};
  nlohmann::json body = {{"object", "list"}, {"data", nlohmann::json::array({card})}};
  co_await respond_json(ex, 200, body);
}

asio::awaitable<void> handle_health(ServerContext&, Exchange& ex) { co_await ex.respond(200, "", "text/plain"); }

asio::awaitable<void> handle_metrics(ServerContext& ctx, Exchange& ex) {
  co_await ex.respond(200, ctx.metrics.render(ctx.engine.stats()), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace turbolm::server
