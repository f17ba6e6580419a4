// Stop strings over streamed text. Text that could still grow into a stop string is held back, so a stream never
// shows (part of) a stop string unless include_stop_str_in_output asks for it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace turbolm {

class StopStringMatcher {
 public:
  StopStringMatcher() = default;
  StopStringMatcher(std::vector<std::string> stops, bool include_stop_in_output);

  // Appends a text delta; returns the text that is safe to emit now. After a match, stopped() is true and the
  // returned text ends at the stop string (or after it, with include_stop_in_output); later text is dropped.
  std::string push(std::string_view delta);
  // End of generation without a match: the held-back text.
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  bool include_stop_ = false;
  bool stopped_ = false;
  // Held back: the longest suffix of the text so far that is a proper prefix of some stop string. A stop string
  // can only start inside it, since everything emitted earlier was no such prefix.
  std::string pending_;
};

}  // namespace turbolm
