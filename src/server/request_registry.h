// The engine requests the server has in flight, by LMDeploy session id, so /abort_request and shutdown can
// cancel them from outside the connection that owns them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "turbolm/engine.h"

namespace turbolm::server {

class RequestRegistry {
 public:
  // Returns a key for remove().
  uint64_t add(std::optional<int64_t> session_id, std::shared_ptr<RequestHandle> handle);
  void remove(uint64_t key);
  int abort_session(int64_t session_id);  // returns how many requests were cancelled
  int abort_all();
  size_t size() const;

 private:
  struct Entry {
    std::optional<int64_t> session_id;
    std::shared_ptr<RequestHandle> handle;
  };
  mutable std::mutex mutex_;
  uint64_t next_key_ = 0;
  std::map<uint64_t, Entry> entries_;
};

}  // namespace turbolm::server
