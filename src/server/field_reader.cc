#include "server/field_reader.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace turbolm::server {
namespace {

// Values quoted in error messages are cut short: a client that sent a megabyte gets a readable line back.
std::string preview(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 64) text = text.substr(0, 61) + "...";
  return text;
}

}  // namespace

nlohmann::json parse_json_object(std::string_view body) {
  // Parsing is iterative, but writing a value back out (error messages, chat templates) recurses once per level:
  // a 200 KB body of nested brackets would overflow an io thread's stack.
  auto limit_depth = [](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if (depth >= kMaxJsonDepth &&
        (event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start)) {
      throw ApiError::invalid_request(fmt::format("The request body nests JSON deeper than {} levels.", kMaxJsonDepth),
                                      {}, "invalid_json");
    }
    return true;
  };
  nlohmann::json value = nlohmann::json::parse(body, limit_depth, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw ApiError::invalid_request("The request body is not valid JSON.", {}, "invalid_json");
  if (!value.is_object())
    throw ApiError::invalid_request("The request body must be a JSON object.", {}, "invalid_json");
  return value;
}

FieldReader::FieldReader(const nlohmann::json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {
  if (!object_.is_object()) {
    std::string field = prefix_.empty() ? "body" : prefix_.substr(0, prefix_.size() - 1);
    throw ApiError::invalid_request(fmt::format("'{}' must be an object, got {}", field, preview(object_)), field);
  }
}

void FieldReader::reject_unknown(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, value] : object_.items()) {
    bool found = false;
    for (std::string_view k : known) found = found || k == key;
    if (!found) {
      throw ApiError::invalid_request(fmt::format("Unrecognized request argument supplied: {}", name(key)), name(key),
                                      "unknown_parameter");
    }
  }
}

const nlohmann::json* FieldReader::get(std::string_view key) const {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

void FieldReader::invalid(std::string_view key, std::string_view message) const {
  throw ApiError::invalid_request(fmt::format("'{}' {}", name(key), message), name(key));
}

void FieldReader::wrong_type(std::string_view key, std::string_view expected, const nlohmann::json& value) const {
  invalid(key, fmt::format("must be {}, got {}", expected, preview(value)));
}

std::optional<bool> FieldReader::boolean(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(key, "a boolean", *v);
  return v->get<bool>();
}

std::optional<int64_t> FieldReader::integer(std::string_view key, int64_t min, int64_t max) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  int64_t result = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      invalid(key, fmt::format("must be at most {}, got {}", max, preview(*v)));
    }
    result = v->get<int64_t>();
  } else if (v->is_number_float()) {
    double d = v->get<double>();
    // 2^63 is exactly representable; anything at or beyond it does not fit int64.
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 9.2233720368547758e18)
      wrong_type(key, "an integer", *v);
    result = static_cast<int64_t>(d);
  } else {
    wrong_type(key, "an integer", *v);
  }
  if (result < min || result > max) {
    invalid(key, fmt::format("must be between {} and {}, got {}", min, max, result));
  }
  return result;
}

std::optional<double> FieldReader::number(std::string_view key, double min, double max) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(key, "a number", *v);
  double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    invalid(key, fmt::format("must be between {} and {}, got {}", min, max, preview(*v)));
  }
  return d;
}

std::optional<std::string> FieldReader::string(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong_type(key, "a string", *v);
  return v->get<std::string>();
}

std::vector<std::string> FieldReader::string_or_list(std::string_view key, size_t max_items) const {
  std::vector<std::string> result;
  const nlohmann::json* v = get(key);
  if (!v) return result;
  if (v->is_string()) {
    if (!v->get_ref<const std::string&>().empty()) result.push_back(v->get<std::string>());
    return result;
  }
  if (!v->is_array()) wrong_type(key, "a string or a list of strings", *v);
  if (v->size() > max_items) invalid(key, fmt::format("may hold at most {} items, got {}", max_items, v->size()));
  for (const auto& item : *v) {
    if (!item.is_string()) wrong_type(key, "a string or a list of strings", *v);
    if (!item.get_ref<const std::string&>().empty()) result.push_back(item.get<std::string>());
  }
  return result;
}

std::vector<int32_t> read_token_ids(const nlohmann::json& value, const std::string& param) {
  auto fail = [&] {
    throw ApiError::invalid_request(
        fmt::format("'{}' must be a list of token ids (integers >= 0), got {}", param, preview(value)), param);
  };
  if (!value.is_array()) fail();
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (const auto& item : value) {
    if (!item.is_number_integer()) fail();
    if (item.is_number_unsigned() ? item.get<uint64_t>() > 0x7fffffffULL
                                  : (item.get<int64_t>() < 0 || item.get<int64_t>() > 0x7fffffff)) {
      fail();
    }
    ids.push_back(static_cast<int32_t>(item.get<int64_t>()));
  }
  return ids;
}

std::vector<int32_t> FieldReader::token_ids(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return {};
  return read_token_ids(*v, name(key));
}

}  // namespace turbolm::server
