#include "server/request_registry.h"

#include <vector>

namespace turbolm::server {

uint64_t RequestRegistry::add(std::optional<int64_t> session_id, std::shared_ptr<RequestHandle> handle) {
  std::lock_guard lock(mutex_);
  uint64_t key = next_key_++;
  entries_.emplace(key, Entry{session_id, std::move(handle)});
  return key;
}

void RequestRegistry::remove(uint64_t key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

int RequestRegistry::abort_session(int64_t session_id) {
  std::vector<std::shared_ptr<RequestHandle>> victims;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, entry] : entries_) {
      if (entry.session_id == session_id) victims.push_back(entry.handle);
    }
  }
  // cancel() may run the output callback synchronously; never hold our lock across it.
  for (const auto& handle : victims) handle->cancel();
  return static_cast<int>(victims.size());
}

int RequestRegistry::abort_all() {
  std::vector<std::shared_ptr<RequestHandle>> victims;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, entry] : entries_) victims.push_back(entry.handle);
  }
  for (const auto& handle : victims) handle->cancel();
  return static_cast<int>(victims.size());
}

size_t RequestRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace turbolm::server
