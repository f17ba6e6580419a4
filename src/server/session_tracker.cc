#include "server/session_tracker.h"

#include <vector>

namespace turbolm::server {

uint64_t SessionTracker::add(Closer closer) {
  std::lock_guard lock(mutex_);
  uint64_t id = next_id_++;
  sessions_.emplace(id, std::move(closer));
  return id;
}

void SessionTracker::remove(uint64_t id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

size_t SessionTracker::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void SessionTracker::close_all(bool force) {
  std::vector<Closer> closers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, closer] : sessions_) closers.push_back(closer);
  }
  for (const auto& closer : closers) closer(force);
}

}  // namespace turbolm::server
