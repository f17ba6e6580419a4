#include "server/server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/logging.h"
#include "server/http_session.h"
#include "server/parser_markers.h"

namespace turbolm::server {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

struct Server::Impl {
  Impl(std::unique_ptr<Engine> e, ServerConfig c)
      : config(std::move(c)),
        engine(std::move(e)),
        ctx(*engine, config),
        auth(config.api_keys),
        control(asio::make_strand(io)),
        acceptor(control),
        accept_retry(control),
        signals(control),
        env{ctx, auth, tracker, stopping} {}

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> shutdown();
  void begin_shutdown();

  ServerConfig config;
  std::unique_ptr<Engine> engine;
  ServerContext ctx;
  ApiKeyAuth auth;
  SessionTracker tracker;
  std::atomic<bool> stopping{false};
  asio::io_context io;
  // The acceptor and signal set are touched only on this strand (accept loop, shutdown, signal handler).
  asio::strand<asio::io_context::executor_type> control;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;  // the pause after a failed accept
  asio::signal_set signals;
  SessionEnv env;
  bool listening = false;
};

asio::awaitable<void> Server::Impl::accept_loop() {
  // A failed accept (out of file descriptors, ENOBUFS) leaves the connection queued, so retrying at once fails
  // again at once: a spinning core and a log flood until something frees up. Back off as Go's net/http does.
  constexpr std::chrono::milliseconds kFirstRetryDelay{5}, kMaxRetryDelay{1000};
  std::chrono::milliseconds retry_delay{0};
  while (!stopping) {
    error_code ec;
    // Each connection gets its own strand: its handler, writes and engine wake-ups never run concurrently.
    tcp::socket socket =
        co_await acceptor.async_accept(asio::make_strand(io), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) break;
      retry_delay = retry_delay.count() == 0 ? kFirstRetryDelay : std::min(2 * retry_delay, kMaxRetryDelay);
      TLM_LOG_WARNING("accept failed: {}; retrying in {} ms", ec.message(), retry_delay.count());
      accept_retry.expires_after(retry_delay);
      co_await accept_retry.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    retry_delay = std::chrono::milliseconds{0};
    socket.set_option(tcp::no_delay(true), ec);  // streamed tokens must not wait for Nagle
    auto executor = socket.get_executor();
    asio::co_spawn(executor, run_http_session(env, std::move(socket)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        TLM_LOG_ERROR("connection failed: {}", ex.what());
      }
    });
  }
}

void Server::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  TLM_LOG_INFO("shutting down: finishing {} in-flight request(s) (grace {:.0f} s)", ctx.generations_in_flight.load(),
               config.shutdown_grace_s);
  error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  signals.cancel(ignored);
  tracker.close_all(/*force=*/false);
  asio::co_spawn(control, shutdown(), asio::detached);
}

asio::awaitable<void> Server::Impl::shutdown() {
  using Clock = std::chrono::steady_clock;
  asio::steady_timer timer(io);
  auto wait_until = [&](Clock::time_point deadline, auto done) -> asio::awaitable<bool> {
    while (!done()) {
      if (Clock::now() >= deadline) co_return false;
      timer.expires_after(std::chrono::milliseconds(20));
      error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return true;
  };
  auto grace = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config.shutdown_grace_s));
  bool finished = co_await wait_until(Clock::now() + grace, [&] { return ctx.generations_in_flight == 0; });
  if (!finished) {
    TLM_LOG_WARNING("grace period over: aborting {} request(s)", ctx.registry.abort_all());
  }
  // Aborted requests answer promptly; connections that remain after that are closed by force.
  if (!co_await wait_until(Clock::now() + std::chrono::seconds(5), [&] { return tracker.size() == 0; })) {
    tracker.close_all(/*force=*/true);
    co_await wait_until(Clock::now() + std::chrono::seconds(2), [&] { return tracker.size() == 0; });
  }
  io.stop();
}

Server::Server(std::unique_ptr<Engine> engine, ServerConfig config)
    : impl_(std::make_unique<Impl>(std::move(engine), std::move(config))) {
  for (const std::string& warning : parser_marker_warnings(*impl_->engine, impl_->config))
    TLM_LOG_WARNING("{}", warning);
}

Server::~Server() {
  // Engine callbacks post into io; the engine must be gone before io is.
  impl_->engine.reset();
}

Engine& Server::engine() { return *impl_->engine; }

uint16_t Server::listen() {
  Impl& s = *impl_;
  if (!s.listening) {
    error_code ec;
    auto address = asio::ip::make_address(s.config.host, ec);
    if (ec) TLM_FAIL(kInvalidArgument) << "--server-name '" << s.config.host << "' is not an IP address";
    tcp::endpoint endpoint(address, s.config.port);
    s.acceptor.open(endpoint.protocol(), ec);
    if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) s.acceptor.bind(endpoint, ec);
    if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      TLM_FAIL(kInvalidArgument) << "cannot listen on " << s.config.host << ":" << s.config.port << ": "
                                 << ec.message();
    }
    s.listening = true;
  }
  return s.acceptor.local_endpoint().port();
}

void Server::run() {
  Impl& s = *impl_;
  uint16_t port = listen();
  TLM_LOG_INFO("serving {} on http://{}:{} ({} io threads{})", s.ctx.model_name, s.config.host, port,
               s.config.io_threads, s.auth.enabled() ? ", api keys required" : "");
  if (s.config.handle_signals) {
    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([&s](const error_code& ec, int) {
      if (!ec) s.begin_shutdown();
    });
  }
  asio::co_spawn(s.control, s.accept_loop(), asio::detached);
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, s.config.io_threads); ++i) threads.emplace_back([&s] { s.io.run(); });
  s.io.run();
  for (auto& t : threads) t.join();
  if (s.config.handle_signals) {
    // Asio puts back the default action (death by signal) when the set is cleared or destroyed; a SIGINT/SIGTERM
    // repeated while the engine and the rest of the process tear down must not turn a clean exit into that.
    error_code ignored;
    s.signals.clear(ignored);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);
  }
  TLM_LOG_INFO("server stopped");
}

void Server::stop() {
  Impl& s = *impl_;
  asio::post(s.control, [&s] { s.begin_shutdown(); });
}

}  // namespace turbolm::server
