// Hands engine outputs from the engine thread to a connection's coroutine. push() never blocks the engine
// (a mutex held for a vector append plus one post); the consumer awaits on the connection's strand.
// Buffering is unbounded but small: at most max_tokens text chunks per request, and a client that stops
// reading is detected (write timeout / disconnect watch) and its request cancelled.
#pragma once

// clang-format off
#include <utility>  // first: boost/asio/awaitable.hpp (1.74) uses std::exchange without including it
// clang-format on

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <vector>

#include "turbolm/types.h"

namespace turbolm::server {

namespace asio = boost::asio;

struct QueuedOutput {
  int request = 0;  // which engine request of the HTTP request (completions may batch prompts)
  GenerationOutput output;
};

class OutputQueue : public std::enable_shared_from_this<OutputQueue> {
 public:
  explicit OutputQueue(asio::any_io_executor strand);
  // Any thread.
  void push(int request, const GenerationOutput& output);
  // Any thread: makes the pending wait() return (possibly empty) so the consumer re-checks its state.
  void wake();
  // On the strand: everything pushed since the last call; empty only after wake().
  asio::awaitable<std::vector<QueuedOutput>> wait();

 private:
  void notify_locked();

  asio::any_io_executor strand_;
  asio::steady_timer timer_;
  std::mutex mutex_;
  std::vector<QueuedOutput> items_;
  bool woken_ = false;
  bool notify_posted_ = false;
};

}  // namespace turbolm::server
