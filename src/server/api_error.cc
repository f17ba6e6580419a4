#include "server/api_error.h"

#include "turbolm/error.h"

namespace turbolm::server {

nlohmann::json ApiError::body() const {
  nlohmann::json error = {{"message", message_}, {"type", type_}, {"param", nullptr}, {"code", nullptr}};
  if (!param_.empty()) error["param"] = param_;
  if (!code_.empty()) error["code"] = code_;
  return {{"error", std::move(error)}};
}

ApiError ApiError::invalid_request(std::string message, std::string param, std::string code) {
  return ApiError(400, std::move(message), "invalid_request_error", std::move(param), std::move(code));
}
ApiError ApiError::unauthorized(std::string message) {
  return ApiError(401, std::move(message), "invalid_request_error", {}, "invalid_api_key");
}
ApiError ApiError::not_found(std::string message, std::string param, std::string code) {
  return ApiError(404, std::move(message), "invalid_request_error", std::move(param), std::move(code));
}
ApiError ApiError::method_not_allowed(std::string message) {
  return ApiError(405, std::move(message), "invalid_request_error", {}, "method_not_allowed");
}
ApiError ApiError::payload_too_large(std::string message) {
  return ApiError(413, std::move(message), "invalid_request_error", {}, "request_too_large");
}
ApiError ApiError::uri_too_long(std::string message) {
  return ApiError(414, std::move(message), "invalid_request_error", {}, "uri_too_long");
}
ApiError ApiError::unsupported_media_type(std::string message) {
  return ApiError(415, std::move(message), "invalid_request_error", {}, "unsupported_media_type");
}
ApiError ApiError::header_fields_too_large(std::string message) {
  return ApiError(431, std::move(message), "invalid_request_error", {}, "request_header_fields_too_large");
}
ApiError ApiError::too_many_requests(std::string message) {
  return ApiError(429, std::move(message), "rate_limit_error", {}, "too_many_requests");
}
ApiError ApiError::unavailable(std::string message) {
  return ApiError(503, std::move(message), "server_error", {}, "service_unavailable");
}
ApiError ApiError::internal(std::string message) {
  return ApiError(500, std::move(message), "server_error", {}, "internal_error");
}
ApiError ApiError::not_implemented(std::string message) {
  return ApiError(501, std::move(message), "invalid_request_error", {}, "not_implemented");
}

ApiError to_api_error(const std::exception& e) {
  if (const auto* api = dynamic_cast<const ApiError*>(&e)) return *api;
  const auto* error = dynamic_cast<const Error*>(&e);
  if (!error) return ApiError::internal(std::string("internal error: ") + e.what());
  switch (error->code()) {
    case ErrorCode::kInvalidArgument: return ApiError::invalid_request(e.what());
    case ErrorCode::kUnsupported: return ApiError::invalid_request(e.what(), {}, "unsupported");
    case ErrorCode::kNotFound: return ApiError::not_found(e.what());
    case ErrorCode::kOutOfMemory: return ApiError::unavailable(e.what());
    case ErrorCode::kCancelled: return ApiError::invalid_request(e.what(), {}, "cancelled");
    case ErrorCode::kInternal: break;
  }
  return ApiError::internal(e.what());
}

}  // namespace turbolm::server
