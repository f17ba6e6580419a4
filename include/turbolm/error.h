// The one exception type turbolm throws; front ends map its code to an exit status or HTTP status.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace turbolm {

enum class ErrorCode {
  kInvalidArgument,  // bad user input: flags, request fields, malformed files
  kNotFound,         // a file, model, tensor or session that does not exist
  kUnsupported,      // valid input that turbolm cannot handle (yet)
  kOutOfMemory,      // host/device/KV memory exhausted
  kCancelled,        // the caller aborted the work
  kInternal,         // a broken invariant: a bug in turbolm
};

std::string_view error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace turbolm
