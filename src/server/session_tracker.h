// The open connections, so a graceful shutdown can close idle keep-alive connections at once and, after the
// grace period, every connection that is left.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace turbolm::server {

class SessionTracker {
 public:
  // `close(force)` runs on the session's strand (the session posts it there): force = false closes the connection
  // only while it waits for a request; force = true closes it in any state.
  using Closer = std::function<void(bool force)>;
  uint64_t add(Closer closer);
  void remove(uint64_t id);
  size_t size() const;
  void close_all(bool force);

 private:
  mutable std::mutex mutex_;
  uint64_t next_id_ = 0;
  std::map<uint64_t, Closer> sessions_;
};

}  // namespace turbolm::server
