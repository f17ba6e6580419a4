#include "server/output_queue.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace turbolm::server {

OutputQueue::OutputQueue(asio::any_io_executor strand) : strand_(strand), timer_(strand) {}

void OutputQueue::notify_locked() {
  if (notify_posted_) return;  // one wake-up in flight covers every push until the consumer drains
  notify_posted_ = true;
  // The timer is only touched on the strand; the posted cancel cannot interleave with the consumer's
  // check-then-wait, so no wake-up is lost.
  asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
}

void OutputQueue::push(int request, const GenerationOutput& output) {
  std::lock_guard lock(mutex_);
  items_.push_back({request, output});
  notify_locked();
}

void OutputQueue::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  notify_locked();
}

asio::awaitable<std::vector<QueuedOutput>> OutputQueue::wait() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (!items_.empty() || woken_) {
        std::vector<QueuedOutput> out;
        out.swap(items_);
        woken_ = false;
        notify_posted_ = false;
        co_return out;
      }
      notify_posted_ = false;
    }
    timer_.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace turbolm::server
