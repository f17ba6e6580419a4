#include "core/error.h"

namespace turbolm {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kUnsupported: return "Unsupported";
    case ErrorCode::kOutOfMemory: return "OutOfMemory";
    case ErrorCode::kCancelled: return "Cancelled";
    case ErrorCode::kInternal: return "Internal";
  }
  return "Unknown";
}

void throw_error(ErrorCode code, const std::string& message) { throw Error(code, message); }

namespace detail {

ErrorBuilder::ErrorBuilder(ErrorCode code, const char* file, int line, std::string_view prefix) : code_(code) {
  if (file != nullptr) stream_ << file << ':' << line << ": ";
  stream_ << prefix;
}

ErrorBuilder::~ErrorBuilder() noexcept(false) {
  std::string message = stream_.str();
  while (!message.empty() && message.back() == ' ') message.pop_back();
  throw Error(code_, message);
}

}  // namespace detail
}  // namespace turbolm
