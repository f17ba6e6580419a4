#include "server/load_generator.h"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"

namespace turbolm::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Keep-alive connections reused across requests, as aiohttp does for vLLM's client. Single-threaded io only.
class ConnectionPool {
 public:
  ConnectionPool(asio::io_context& io, const LoadSpec& spec) : io_(io), spec_(spec) {}

  asio::awaitable<std::unique_ptr<beast::tcp_stream>> acquire(error_code& ec) {
    if (!idle_.empty()) {
      auto stream = std::move(idle_.back());
      idle_.pop_back();
      co_return stream;
    }
    auto stream = std::make_unique<beast::tcp_stream>(io_);
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address(spec_.host, ec), spec_.port);
    if (!ec) co_await stream->async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    co_return stream;
  }
  void release(std::unique_ptr<beast::tcp_stream> stream) { idle_.push_back(std::move(stream)); }

 private:
  asio::io_context& io_;
  const LoadSpec& spec_;
  std::vector<std::unique_ptr<beast::tcp_stream>> idle_;
};

std::string request_body(const LoadSpec& spec, const BenchPrompt& prompt) {
  nlohmann::json body = {{"model", spec.model},
                         {"max_tokens", prompt.max_tokens},
                         {"temperature", spec.temperature},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
  if (spec.ignore_eos) body["ignore_eos"] = true;
  if (spec.endpoint.find("chat") != std::string::npos) {
    body["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", prompt.text}}});
  } else {
    body["prompt"] = prompt.text;
  }
  return body.dump();
}

// Consumes complete SSE events from `pending`, timing token chunks into `result`.
void consume_events(std::string& pending, Clock::time_point start, Clock::time_point& last, RequestResult& result,
                    bool& done) {
  size_t end;
  while ((end = pending.find("\n\n")) != std::string::npos) {
    std::string event = pending.substr(0, end);
    pending.erase(0, end + 2);
    if (event.rfind("data: ", 0) != 0) continue;
    std::string data = event.substr(6);
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    nlohmann::json chunk = nlohmann::json::parse(data, nullptr, false);
    if (chunk.is_discarded()) continue;
    if (chunk.contains("error")) {
      result.error = chunk["error"].value("message", "error event");
      continue;
    }
    if (chunk.contains("usage") && chunk["usage"].is_object()) {
      result.prompt_tokens = chunk["usage"].value("prompt_tokens", 0);
      result.output_tokens = chunk["usage"].value("completion_tokens", 0);
    }
    if (!chunk.contains("choices") || chunk["choices"].empty()) continue;
    const nlohmann::json& choice = chunk["choices"][0];
    std::string text;
    if (choice.contains("text") && choice["text"].is_string()) text = choice["text"];
    if (choice.contains("delta") && choice["delta"].contains("content") && choice["delta"]["content"].is_string()) {
      text = choice["delta"]["content"];
    }
    if (text.empty()) continue;
    auto now = Clock::now();
    if (result.ttft_s == 0) {
      result.ttft_s = std::chrono::duration<double>(now - start).count();
    } else {
      result.itl_s.push_back(std::chrono::duration<double>(now - last).count());
    }
    last = now;
  }
}

asio::awaitable<RequestResult> send_one(const LoadSpec& spec, const BenchPrompt& prompt, ConnectionPool& pool) {
  RequestResult result;
  auto start = Clock::now();
  error_code ec;
  auto stream = co_await pool.acquire(ec);
  if (ec) {
    result.error = "connect: " + ec.message();
    co_return result;
  }
  http::request<http::string_body> req{http::verb::post, spec.endpoint, 11};
  req.set(http::field::host, spec.host);
  req.set(http::field::content_type, "application/json");
  if (!spec.api_key.empty()) req.set(http::field::authorization, "Bearer " + spec.api_key);
  req.body() = request_body(spec, prompt);
  req.prepare_payload();
  co_await http::async_write(*stream, req, asio::redirect_error(asio::use_awaitable, ec));

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  // Not boost::none: Boost 1.74 compares a Content-Length against an empty limit as "exceeded", which hid every
  // plain (non-streamed) reply, errors included, behind "body limit exceeded".
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  std::string pending;
  Clock::time_point last = start;
  bool done = false;
  auto on_chunk = [&](uint64_t, beast::string_view body, error_code&) -> size_t {
    pending.append(body.data(), body.size());
    consume_events(pending, start, last, result, done);
    return body.size();
  };
  parser.on_chunk_body(on_chunk);
  if (!ec) co_await http::async_read_header(*stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  while (!ec && !parser.is_done()) {
    co_await http::async_read_some(*stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  }
  result.latency_s = since(start);
  if (ec) {
    result.error = "http: " + ec.message();
  } else if (parser.get().result_int() != 200) {
    result.error = fmt::format("HTTP {}: {}", parser.get().result_int(), parser.get().body());
  } else if (result.error.empty() && !done) {
    result.error = "stream ended without [DONE]";
  }
  result.success = result.error.empty();
  if (result.success && parser.get().keep_alive()) pool.release(std::move(stream));
  co_return result;
}

}  // namespace

LoadResult run_load(const LoadSpec& spec, const std::vector<BenchPrompt>& prompts) {
  asio::io_context io;
  ConnectionPool pool(io, spec);
  LoadResult out;
  out.requests.resize(prompts.size());
  auto start = Clock::now();
  auto driver = [&]() -> asio::awaitable<void> {
    asio::steady_timer wake(io);
    std::mt19937_64 rng(spec.seed);
    std::exponential_distribution<double> gap(std::isfinite(spec.request_rate) ? spec.request_rate : 1.0);
    size_t in_flight = 0;
    auto wait_wake = [&]() -> asio::awaitable<void> {
      error_code ec;
      wake.expires_at(asio::steady_timer::time_point::max());
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    };
    for (size_t i = 0; i < prompts.size(); ++i) {
      while (spec.max_concurrency > 0 && in_flight >= static_cast<size_t>(spec.max_concurrency)) co_await wait_wake();
      ++in_flight;
      asio::co_spawn(
          io,
          [&, i]() -> asio::awaitable<void> {
            out.requests[i] = co_await send_one(spec, prompts[i], pool);
            --in_flight;
            wake.cancel();
          },
          asio::detached);
      if (std::isfinite(spec.request_rate) && i + 1 < prompts.size()) {
        asio::steady_timer timer(io);
        timer.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng))));
        error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    while (in_flight > 0) co_await wait_wake();
  };
  asio::co_spawn(io, driver(), asio::detached);
  io.run();
  out.duration_s = since(start);
  return out;
}

std::string fetch_model_name(const LoadSpec& spec) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  error_code ec;
  auto address = asio::ip::make_address(spec.host, ec);
  if (!ec) stream.connect(asio::ip::tcp::endpoint(address, spec.port), ec);
  if (ec) TLM_FAIL(kNotFound) << "cannot reach " << spec.host << ":" << spec.port << ": " << ec.message();
  http::request<http::empty_body> req{http::verb::get, "/v1/models", 11};
  req.set(http::field::host, spec.host);
  if (!spec.api_key.empty()) req.set(http::field::authorization, "Bearer " + spec.api_key);
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) TLM_FAIL(kNotFound) << "GET /v1/models failed: " << ec.message();
  nlohmann::json models = nlohmann::json::parse(res.body(), nullptr, false);
  if (res.result_int() != 200 || models.is_discarded() || !models.contains("data") || models["data"].empty()) {
    TLM_FAIL(kInvalidArgument) << "GET /v1/models answered " << res.result_int() << ": " << res.body();
  }
  return models["data"][0].value("id", "");
}

void parse_base_url(const std::string& url, std::string& host, uint16_t& port) {
  const std::string scheme = "http://";
  TLM_CHECK_ARG(url.rfind(scheme, 0) == 0) << "--base-url must start with http:// (got '" << url << "')";
  std::string rest = url.substr(scheme.size());
  if (size_t slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  size_t colon = rest.rfind(':');
  host = colon == std::string::npos ? rest : rest.substr(0, colon);
  port = 80;
  if (colon != std::string::npos) {
    int value = 0;
    try {
      value = std::stoi(rest.substr(colon + 1));
    } catch (const std::exception&) {
      value = -1;
    }
    TLM_CHECK_ARG(value > 0 && value < 65536) << "--base-url has no valid port: '" << url << "'";
    port = static_cast<uint16_t>(value);
  }
  if (host == "localhost") host = "127.0.0.1";
  TLM_CHECK_ARG(!host.empty()) << "--base-url has no host: '" << url << "'";
}

std::vector<BenchPrompt> random_prompts(int count, int input_len, int output_len, double range_ratio, uint64_t seed) {
  static const char* const kWords[] = {"the", "cat", "sat",  "on", "a",    "mat",  "and", "dog",    "ran", "to",
                                       "big", "red", "ball", "in", "park", "with", "his", "friend", "sun", "day"};
  std::mt19937_64 rng(seed);
  auto length = [&](int len) {
    int low = std::max(1, static_cast<int>(len * (1.0 - range_ratio)));
    return std::uniform_int_distribution<int>(low, std::max(low, len))(rng);
  };
  std::vector<BenchPrompt> prompts(count);
  for (BenchPrompt& p : prompts) {
    int words = length(input_len);
    for (int w = 0; w < words; ++w) {
      p.text += (w ? " " : "");
      p.text += kWords[rng() % std::size(kWords)];
    }
    p.max_tokens = length(output_len);
  }
  return prompts;
}

std::vector<BenchPrompt> jsonl_prompts(const std::string& path, int count, int default_output_len) {
  std::ifstream in(path);
  TLM_CHECK_ARG(in.good()) << "cannot open dataset " << path;
  std::vector<BenchPrompt> prompts;
  std::string line;
  for (int number = 1; std::getline(in, line) && (count <= 0 || static_cast<int>(prompts.size()) < count); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    TLM_CHECK_ARG(j.is_object() && j.contains("prompt") && j["prompt"].is_string())
        << path << ":" << number << ": expected {\"prompt\": \"...\", \"max_tokens\": N}";
    BenchPrompt p;
    p.text = j["prompt"];
    p.max_tokens = j.value("max_tokens", j.value("output_len", default_output_len));
    TLM_CHECK_ARG(p.max_tokens > 0) << path << ":" << number << ": max_tokens must be positive";
    prompts.push_back(std::move(p));
  }
  TLM_CHECK_ARG(!prompts.empty()) << "dataset " << path << " has no prompts";
  return prompts;
}

}  // namespace turbolm::server
