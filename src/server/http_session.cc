#include "server/http_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <vector>

#include "core/logging.h"
#include "server/cors.h"
#include "server/router.h"
#include "server/sse.h"

namespace turbolm::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Request = http::request<http::string_body>;
using RequestParser = http::request_parser<http::string_body>;

constexpr size_t kHeaderLimit = 64 * 1024;
// Longer request targets get 414 (RFC 9112 3 asks servers to take at least 8000 octets); no endpoint reads more
// than a path and a short query.
constexpr size_t kTargetLimit = 16 * 1024;
// Pipelined bytes read ahead while a response is being produced; beyond this the disconnect watch stops.
constexpr size_t kPipelineReadAhead = 64 * 1024;

// Beast 1.74 speaks boost::string_view.
std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view bsv(std::string_view s) { return {s.data(), s.size()}; }

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

void add_headers(http::fields& fields, const HeaderList& headers) {
  for (const auto& [name, value] : headers) fields.set(name, value);
}

class BeastExchange final : public Exchange {
 public:
  BeastExchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, const Request& request,
                const ServerConfig& config, HeaderList extra_headers, bool close_after)
      : stream_(stream),
        buffer_(buffer),
        request_(request),
        config_(config),
        extra_headers_(std::move(extra_headers)),
        keep_alive_(request.keep_alive() && !close_after),
        watch_done_timer_(stream.get_executor()) {}

  std::string_view body() const override { return request_.body(); }
  std::string_view route_param() const override { return route_param_; }
  asio::any_io_executor executor() const override { return stream_.get_executor(); }

  asio::awaitable<void> respond(int status, std::string body, std::string_view content_type) override {
    started_ = true;
    status_ = status;
    http::response<http::string_body> res{static_cast<http::status>(status), request_.version()};
    res.set(http::field::server, "turbolm");
    res.set(http::field::content_type, bsv(content_type));
    add_headers(res, extra_headers_);
    // RFC 9110 11.6.1: a 401 must name the scheme that would succeed (the API keys are bearer tokens, RFC 6750).
    if (status == 401) res.set(http::field::www_authenticate, "Bearer");
    res.keep_alive(keep_alive_);
    if (request_.method() == http::verb::head) {
      res.content_length(body.size());  // what GET would send (RFC 9110 9.3.2), without the body
    } else if (status != 204) {  // RFC 9110 8.6: no Content-Length on a 204 (Beast 1.74's prepare_payload sets 0)
      res.body() = std::move(body);
      res.prepare_payload();
    }
    error_code ec;
    stream_.expires_after(seconds(config_.write_timeout_s));
    co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
    stream_.expires_never();
    if (ec) broken_ = true;
  }

  asio::awaitable<bool> begin_stream(std::string_view content_type) override {
    started_ = true;
    status_ = 200;
    http::response<http::empty_body> res{http::status::ok, request_.version()};
    res.set(http::field::server, "turbolm");
    res.set(http::field::content_type, bsv(content_type));
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Accel-Buffering", "no");  // tell reverse proxies not to buffer the event stream
    add_headers(res, extra_headers_);
    // HTTP/1.0 has no chunked encoding: the body runs until the connection closes.
    chunked_ = request_.version() >= 11;
    if (!chunked_) keep_alive_ = false;
    res.keep_alive(keep_alive_);
    res.chunked(chunked_);
    http::response_serializer<http::empty_body> serializer{res};
    error_code ec;
    stream_.expires_after(seconds(config_.write_timeout_s));
    co_await http::async_write_header(stream_, serializer, asio::redirect_error(asio::use_awaitable, ec));
    stream_.expires_never();
    if (ec) broken_ = true;
    co_return !broken_;
  }

  asio::awaitable<bool> write_stream(std::string data) override {
    if (broken_ || client_gone_) co_return false;
    error_code ec;
    stream_.expires_after(seconds(config_.write_timeout_s));
    if (chunked_) {
      co_await asio::async_write(stream_, http::make_chunk(asio::buffer(data)),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(stream_, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    }
    stream_.expires_never();
    if (ec) broken_ = true;
    co_return !broken_;
  }

  asio::awaitable<void> end_stream() override {
    if (broken_ || !chunked_) co_return;  // unchunked (HTTP/1.0): closing the connection ends the body
    error_code ec;
    stream_.expires_after(seconds(config_.write_timeout_s));
    co_await asio::async_write(stream_, http::make_chunk_last(), asio::redirect_error(asio::use_awaitable, ec));
    stream_.expires_never();
    if (ec) broken_ = true;
  }

  void watch_disconnect(std::function<void()> on_gone) override {
    if (watching_) return;
    watching_ = true;
    asio::co_spawn(stream_.get_executor(), watch(std::move(on_gone)), asio::detached);
  }

  // Ends the disconnect watch before the connection reads its next request.
  asio::awaitable<void> stop_watch() {
    if (!watching_) co_return;
    watch_stopping_ = true;
    error_code ignored;
    if (!watch_done_) stream_.socket().cancel(ignored);
    while (!watch_done_) {
      watch_done_timer_.expires_at(asio::steady_timer::time_point::max());
      co_await watch_done_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }

  void set_route_param(std::string param) { route_param_ = std::move(param); }
  // A header for this exchange's response alone (Allow on a 405, Accept-Encoding on a 415).
  void add_header(std::string name, std::string value) {
    extra_headers_.emplace_back(std::move(name), std::move(value));
  }

  bool started() const { return started_; }
  bool reusable() const { return keep_alive_ && !broken_ && !client_gone_; }
  void mark_broken() { broken_ = true; }
  int status() const { return status_; }

 private:
  asio::awaitable<void> watch(std::function<void()> on_gone) {
    error_code ec;
    // A client waiting for its response sends nothing but its next, pipelined request(s): those stay in the buffer
    // for the next parse, and the watch goes on, so that closing the connection after pipelining is still seen. A
    // failed read means the client closed the connection (EOF / reset).
    while (!ec && !watch_stopping_ && buffer_.size() < kPipelineReadAhead) {
      size_t n = co_await stream_.socket().async_read_some(buffer_.prepare(4096),
                                                           asio::redirect_error(asio::use_awaitable, ec));
      buffer_.commit(n);
    }
    if (ec && !watch_stopping_) {
      client_gone_ = true;
      on_gone();
    }
    watch_done_ = true;
    watch_done_timer_.cancel();
  }

  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  const Request& request_;
  const ServerConfig& config_;
  HeaderList extra_headers_;
  std::string route_param_;
  bool keep_alive_;
  bool chunked_ = true;  // streamed bodies: chunked, or (HTTP/1.0) delimited by closing the connection
  bool started_ = false;
  bool broken_ = false;
  bool client_gone_ = false;
  int status_ = 0;
  bool watching_ = false;
  bool watch_stopping_ = false;
  bool watch_done_ = false;
  asio::steady_timer watch_done_timer_;
};

// A response written outside any exchange (the request could not be read): always closes the connection.
asio::awaitable<void> write_error_and_close(beast::tcp_stream& stream, const ApiError& error,
                                            const ServerConfig& config) {
  http::response<http::string_body> res{static_cast<http::status>(error.status()), 11};
  res.set(http::field::server, "turbolm");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = dump_json(error.body());
  res.prepare_payload();
  error_code ec;
  stream.expires_after(seconds(config.write_timeout_s));
  co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  // Drain briefly what the client is still sending so closing does not reset the connection before it has
  // read the error.
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(2));
  char sink[16384];
  for (size_t total = 0; !ec && total < (64u << 20);) {
    total += co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
  }
}

// RFC 9112 2.2: a server SHOULD ignore empty lines before a request-line (clients that end a body with an extra
// CRLF, then pipeline the next request). Reads until the buffer starts with something else.
asio::awaitable<void> skip_empty_lines(beast::tcp_stream& stream, beast::flat_buffer& buffer, error_code& ec) {
  while (true) {
    const auto* data = static_cast<const char*>(buffer.data().data());
    size_t blank = 0;
    while (blank < buffer.size() && (data[blank] == '\r' || data[blank] == '\n')) ++blank;
    buffer.consume(blank);
    if (buffer.size() > 0) co_return;
    const size_t n =
        co_await stream.async_read_some(buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
    buffer.commit(n);
    if (ec) co_return;
  }
}

ApiError target_too_long() {
  return ApiError::uri_too_long(
      fmt::format("The request target exceeds the server's limit of {} bytes.", kTargetLimit));
}

std::optional<ApiError> read_error(const error_code& ec, const RequestParser& parser, const ServerConfig& config) {
  if (ec == http::error::body_limit) {
    return ApiError::payload_too_large(
        fmt::format("The request body exceeds the server's limit of {} bytes.", config.max_body_bytes));
  }
  if (ec == http::error::header_limit) {
    // Beast reads the request line first: no target yet means the request line alone passed the limit.
    const size_t target = parser.get().target().size();
    if (target == 0 || target > kTargetLimit) return target_too_long();
    return ApiError::header_fields_too_large(
        fmt::format("The request header fields exceed the server's limit of {} bytes.", kHeaderLimit));
  }
  if (ec.category() == http::make_error_code(http::error::body_limit).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return ApiError::invalid_request("Malformed HTTP request: " + ec.message());
  }
  return std::nullopt;  // the client went away or timed out: nobody to answer
}

// The comma-separated tokens of every `name` field, in order (a list may be split over repeated fields).
std::vector<std::string_view> field_tokens(const Request& request, http::field name) {
  std::vector<std::string_view> tokens;
  for (auto [field, end] = request.equal_range(name); field != end; ++field) {
    for (const auto& token : http::token_list{field->value()}) tokens.push_back(sv(token));
  }
  return tokens;
}

// What a request head asks for that cannot be served, found before its body is read: an over-long target (414),
// or transfer codings other than chunked. Beast decodes chunked alone and takes "gzip, chunked" for plain chunked,
// so the handler would get the compressed bytes.
std::optional<ApiError> head_error(const Request& request) {
  if (request.target().size() > kTargetLimit) return target_too_long();
  const std::vector<std::string_view> codings = field_tokens(request, http::field::transfer_encoding);
  // RFC 9112 6.1: HTTP/1.0 has no transfer codings; such a message's framing is faulty (400, then close).
  if (request.version() < 11 && !codings.empty()) {
    return ApiError::invalid_request("Malformed HTTP request: Transfer-Encoding in an HTTP/1.0 message.", {},
                                     "invalid_transfer_encoding");
  }
  for (size_t i = 0; i < codings.size(); ++i) {
    // RFC 9112 6.3: unless chunked is the final coding the body's length is unknown (400, then close); 6.1: it
    // is applied once.
    if (beast::iequals(bsv(codings[i]), "chunked") != (i + 1 == codings.size())) {
      return ApiError::invalid_request("Malformed HTTP request: chunked must be the final transfer coding, once.", {},
                                       "invalid_transfer_encoding");
    }
  }
  if (codings.size() > 1) {  // RFC 9112 6.1: 501 for a transfer coding the server does not understand
    return ApiError::not_implemented(
        fmt::format("Transfer-Encoding '{}' is not supported: only chunked is.", codings.front()));
  }
  return std::nullopt;
}

// The first content coding other than identity the body claims; empty when it is plain.
std::string_view content_coding(const Request& request) {
  for (std::string_view coding : field_tokens(request, http::field::content_encoding)) {
    if (!beast::iequals(bsv(coding), "identity")) return coding;
  }
  return {};
}

// A CORS preflight as the Fetch standard sends it: OPTIONS with Origin and Access-Control-Request-Method.
bool is_cors_preflight(const ServerConfig& config, const Request& request) {
  return !config.allow_origins.empty() && request.method() == http::verb::options &&
         request.count(http::field::origin) > 0 && request.count(http::field::access_control_request_method) > 0;
}

asio::awaitable<void> dispatch(SessionEnv& env, BeastExchange& exchange, const Request& request,
                               std::string& route_name) {
  std::string_view path = target_path(sv(request.target()));
  route_name = "unknown";
  // With CORS on, preflights are answered for any path and before auth: browsers send them without credentials.
  // Any other OPTIONS is routed like any method, so it gets 405 with Allow (or 404), as uvicorn answers without
  // CORS middleware.
  if (is_cors_preflight(env.ctx.config, request)) {
    // A refused preflight gets 400 with Starlette's plain-text reason (the browser then blocks the request).
    const std::string refusal = preflight_refusal(env.ctx.config, sv(request[http::field::origin]),
                                                  sv(request[http::field::access_control_request_method]),
                                                  sv(request[http::field::access_control_request_headers]));
    co_await exchange.respond(refusal.empty() ? 204 : 400, refusal, "text/plain");
    co_return;
  }
  // No route takes OPTIONS (it gets 405 with Allow below), so a key would guard nothing; vLLM's auth lets it pass.
  if (request.method() != http::verb::options && path_needs_auth(path) &&
      !env.auth.allows(sv(request[http::field::authorization]))) {
    co_await respond_error(exchange,
                           ApiError::unauthorized("Missing or invalid API key: send 'Authorization: Bearer <key>'."));
    co_return;
  }
  std::string_view method = sv(request.method_string());
  RouteMatch match = find_route(method, path);
  if (!match.route) {
    if (match.path_known) {
      route_name = std::string(match.pattern);
      exchange.add_header("Allow", allowed_methods(path));
      co_await respond_error(
          exchange, ApiError::method_not_allowed(fmt::format("Method {} is not allowed on {}.", method, path)));
    } else {
      co_await respond_error(exchange, ApiError::not_found(fmt::format("No such endpoint: {}", path), {}, "not_found"));
    }
    co_return;
  }
  route_name = std::string(match.route->path);
  // Bodies are read as sent: a compressed one would reach the JSON parser as noise. RFC 9110 15.5.16: 415, with
  // Accept-Encoding naming what would be accepted.
  if (std::string_view coding = content_coding(request); !coding.empty() && !request.body().empty()) {
    exchange.add_header("Accept-Encoding", "identity");
    co_await respond_error(
        exchange, ApiError::unsupported_media_type(
                      fmt::format("Content-Encoding '{}' is not supported: send the body uncompressed.", coding)));
    co_return;
  }
  exchange.set_route_param(percent_decode(match.param));
  std::optional<ApiError> error;
  try {
    co_await match.route->handler(env.ctx, exchange);
  } catch (const std::exception& e) {
    error = to_api_error(e);
  }
  if (!error) co_return;
  if (error->status() >= 500) TLM_LOG_ERROR("{} {}: {}", method, path, error->message());
  if (exchange.started()) {
    exchange.mark_broken();  // headers are out; closing the connection is the only signal left
  } else {
    co_await respond_error(exchange, *error);
  }
}

struct ConnectionState {
  beast::tcp_stream* stream = nullptr;
  bool idle = false;
  bool open = true;
};

}  // namespace

asio::awaitable<void> run_http_session(SessionEnv& env, asio::ip::tcp::socket socket) {
  const ServerConfig& config = env.ctx.config;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  auto state = std::make_shared<ConnectionState>();
  state->stream = &stream;
  uint64_t session_id = env.tracker.add([state, executor = stream.get_executor()](bool force) {
    asio::post(executor, [state, force] {
      error_code ignored;
      if (state->open && (force || state->idle)) state->stream->socket().close(ignored);
    });
  });

  while (!env.stopping) {
    RequestParser parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(config.max_body_bytes);
    error_code ec;
    state->idle = true;
    stream.expires_after(seconds(config.idle_timeout_s));
    co_await skip_empty_lines(stream, buffer, ec);
    if (!ec) co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    state->idle = false;
    std::optional<ApiError> refused;
    if (!ec) refused = head_error(parser.get());
    // RFC 9110 10.1.1: the expectation is case-insensitive, and an HTTP/1.0 client must not get a 1xx (it would
    // take it for the response).
    if (!ec && !refused && parser.get().version() >= 11 &&
        beast::iequals(parser.get()[http::field::expect], "100-continue") && !parser.is_done()) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await asio::async_write(stream, asio::buffer(kContinue), asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec && !refused) {
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    stream.expires_never();
    if (ec) refused = read_error(ec, parser, config);  // none: the client went away, nobody to answer
    if (refused) {
      env.ctx.metrics.record_http("unknown", refused->status());
      co_await write_error_and_close(stream, *refused, config);
    }
    if (ec || refused) break;

    const Request& request = parser.get();
    auto started = std::chrono::steady_clock::now();
    std::string_view origin = sv(request[http::field::origin]);
    HeaderList cors =
        cors_headers(config, origin, is_cors_preflight(config, request), sv(request["Access-Control-Request-Headers"]));
    BeastExchange exchange(stream, buffer, request, config, std::move(cors), env.stopping);
    std::string route;
    co_await dispatch(env, exchange, request, route);
    co_await exchange.stop_watch();
    // 499 (nginx's "client closed request"): the client left before any response was sent.
    env.ctx.metrics.record_http(route, exchange.status() != 0 ? exchange.status() : 499);
    TLM_LOG_DEBUG("{} {} -> {} ({:.1f} ms)", sv(request.method_string()), sv(request.target()), exchange.status(),
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    if (!exchange.reusable()) break;
  }
  error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
  state->open = false;
  env.tracker.remove(session_id);
}

}  // namespace turbolm::server
