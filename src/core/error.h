// Error-raising macros over turbolm::Error (include/turbolm/error.h).
#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "turbolm/error.h"

namespace turbolm {

[[noreturn]] void throw_error(ErrorCode code, const std::string& message);

namespace detail {

// Collects a message with operator<< and throws when the full expression ends.
class ErrorBuilder {
 public:
  ErrorBuilder(ErrorCode code, const char* file, int line, std::string_view prefix);
  ErrorBuilder(const ErrorBuilder&) = delete;
  ErrorBuilder& operator=(const ErrorBuilder&) = delete;
  [[noreturn]] ~ErrorBuilder() noexcept(false);

  template <typename T>
  ErrorBuilder& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  ErrorCode code_;
  std::ostringstream stream_;
};

// Null when cmp(a, b) holds, else "Check failed: expr (a vs. b) ".
template <typename Cmp, typename A, typename B>
std::unique_ptr<std::string> check_op(Cmp cmp, const A& a, const B& b, const char* expr) {
  if (cmp(a, b)) return nullptr;
  std::ostringstream s;
  s << "Check failed: " << expr << " (" << a << " vs. " << b << ") ";
  return std::make_unique<std::string>(s.str());
}

}  // namespace detail
}  // namespace turbolm

// TLM_FAIL(kNotFound) << "no tensor " << name;   -- always throws, message as written (user-facing errors).
#define TLM_FAIL(code) ::turbolm::detail::ErrorBuilder(::turbolm::ErrorCode::code, nullptr, 0, {})

// TLM_CHECK(cond) << "context";   -- internal invariant; throws kInternal with file:line and the condition.
// (`while` instead of `if`: no dangling else; the builder throws, so the loop body runs at most once.)
#define TLM_CHECK(cond) \
  while (!(cond))       \
  ::turbolm::detail::ErrorBuilder(::turbolm::ErrorCode::kInternal, __FILE__, __LINE__, "Check failed: " #cond " ")

// TLM_CHECK_ARG(cond) << "message";  -- validates user input; throws kInvalidArgument with the message only.
#define TLM_CHECK_ARG(cond) \
  while (!(cond)) ::turbolm::detail::ErrorBuilder(::turbolm::ErrorCode::kInvalidArgument, nullptr, 0, {})

#define TLM_CHECK_OP_(a, b, op)                                                                                     \
  while (auto tlm_msg_ = ::turbolm::detail::check_op([](const auto& x, const auto& y) { return x op y; }, (a), (b), \
                                                     #a " " #op " " #b))                                            \
  ::turbolm::detail::ErrorBuilder(::turbolm::ErrorCode::kInternal, __FILE__, __LINE__, *tlm_msg_)

#define TLM_CHECK_EQ(a, b) TLM_CHECK_OP_(a, b, ==)
#define TLM_CHECK_NE(a, b) TLM_CHECK_OP_(a, b, !=)
#define TLM_CHECK_LT(a, b) TLM_CHECK_OP_(a, b, <)
#define TLM_CHECK_LE(a, b) TLM_CHECK_OP_(a, b, <=)
#define TLM_CHECK_GT(a, b) TLM_CHECK_OP_(a, b, >)
#define TLM_CHECK_GE(a, b) TLM_CHECK_OP_(a, b, >=)
