#include "engine/stop_strings.h"

#include <algorithm>
#include <utility>

namespace turbolm {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops, bool include_stop_in_output)
    : include_stop_(include_stop_in_output) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

std::string StopStringMatcher::push(std::string_view delta) {
  if (stopped_) return {};
  pending_.append(delta);
  if (stops_.empty()) return std::exchange(pending_, {});

  // The earliest stop string occurrence wins.
  size_t match = std::string::npos, match_len = 0;
  for (const std::string& stop : stops_) {
    size_t pos = pending_.find(stop);
    if (pos < match) match = pos, match_len = stop.size();
  }
  if (match != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, include_stop_ ? match + match_len : match);
    pending_.clear();
    return out;
  }

  // Hold back the longest suffix that is a proper prefix of a stop string. UTF-8 is self-synchronising, so the
  // cut is at a character boundary.
  size_t hold = 0;
  for (const std::string& stop : stops_) {
    for (size_t k = std::min(stop.size() - 1, pending_.size()); k > hold; --k) {
      if (std::string_view(pending_).substr(pending_.size() - k) == std::string_view(stop).substr(0, k)) {
        hold = k;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopStringMatcher::flush() { return std::exchange(pending_, {}); }

}  // namespace turbolm
