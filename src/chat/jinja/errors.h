// Errors raised while rendering. The interpreter turns them into turbolm::Error at the API boundary,
// adding the template position of the failing node (raise_exception messages pass through unchanged).
#pragma once

#include <stdexcept>
#include <string>

namespace turbolm::jinja {

class RenderError : public std::runtime_error {
 public:
  // user_raised: the template called raise_exception(message); the message is the whole error.
  explicit RenderError(const std::string& message, bool user_raised = false)
      : std::runtime_error(message), user_raised_(user_raised) {}
  bool user_raised() const { return user_raised_; }

 private:
  bool user_raised_;
};

[[noreturn]] inline void render_fail(const std::string& message) { throw RenderError(message); }

}  // namespace turbolm::jinja
