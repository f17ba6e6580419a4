// The one error shape every HTTP failure takes: an HTTP status plus OpenAI's
// {"error":{"message","type","param","code"}} body, so SDKs raise their typed exceptions.
#pragma once

#include <exception>
#include <nlohmann/json.hpp>
#include <string>

namespace turbolm::server {

class ApiError : public std::exception {
 public:
  ApiError(int status, std::string message, std::string type, std::string param = {}, std::string code = {})
      : status_(status),
        message_(std::move(message)),
        type_(std::move(type)),
        param_(std::move(param)),
        code_(std::move(code)) {}

  const char* what() const noexcept override { return message_.c_str(); }
  int status() const { return status_; }
  const std::string& message() const { return message_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  nlohmann::json body() const;

  // The classes OpenAI uses; `param` names the offending request field.
  static ApiError invalid_request(std::string message, std::string param = {}, std::string code = {});
  static ApiError unauthorized(std::string message);
  static ApiError not_found(std::string message, std::string param = {}, std::string code = {});
  static ApiError method_not_allowed(std::string message);
  static ApiError payload_too_large(std::string message);
  static ApiError uri_too_long(std::string message);
  static ApiError unsupported_media_type(std::string message);
  static ApiError header_fields_too_large(std::string message);
  static ApiError too_many_requests(std::string message);
  static ApiError unavailable(std::string message);
  static ApiError internal(std::string message);
  // 501 for a request feature the server does not implement (RFC 9110 15.6.2); the request, not a server fault,
  // is what has to change, so the type stays invalid_request_error.
  static ApiError not_implemented(std::string message);

 private:
  int status_;
  std::string message_;
  std::string type_;
  std::string param_;
  std::string code_;
};

// Maps an exception escaping the engine to its HTTP form: InvalidArgument/Unsupported -> 400, NotFound -> 404,
// OutOfMemory -> 503, Cancelled -> 400, anything else -> 500 (a bug, never bad input).
ApiError to_api_error(const std::exception& e);

}  // namespace turbolm::server
