#include "io/json_fields.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace turbolm {
namespace {

// Long values (a 150k-entry list) would drown the message; the start is enough to recognise it.
std::string short_dump(const nlohmann::json& value) {
  std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

}  // namespace

JsonFields::JsonFields(const nlohmann::json& object, std::string_view source, std::string prefix)
    : object_(object), source_(source), prefix_(std::move(prefix)) {
  if (!object_.is_object()) {
    if (prefix_.empty())
      TLM_FAIL(kInvalidArgument) << source_ << ": the top level must be a JSON object, got " << short_dump(object_);
    // The prefix ends with '.'; the message names the object itself.
    const std::string_view name = std::string_view(prefix_).substr(0, prefix_.size() - 1);
    TLM_FAIL(kInvalidArgument) << source_ << ": '" << name << "' must be a JSON object, got " << short_dump(object_);
  }
}

const nlohmann::json* JsonFields::get(std::string_view key) const {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

void JsonFields::fail(std::string_view key, std::string_view message) const {
  TLM_FAIL(kInvalidArgument) << source_ << ": '" << prefix_ << key << "' " << message;
}

void JsonFields::wrong_type(std::string_view key, std::string_view what, const nlohmann::json& value) const {
  TLM_FAIL(kInvalidArgument) << source_ << ": '" << prefix_ << key << "' must be " << what << ", got "
                             << short_dump(value);
}

std::optional<int64_t> JsonFields::get_int(std::string_view key) const {
  return get_int(key, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
}

std::optional<int64_t> JsonFields::get_int(std::string_view key, int64_t min, int64_t max) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  int64_t value = 0;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) fail(key, "is out of range: " + std::to_string(u));
    value = static_cast<int64_t>(u);
  } else if (v->is_number_integer()) {
    value = v->get<int64_t>();
  } else {
    wrong_type(key, "an integer", *v);
  }
  if (value < min || value > max)
    fail(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + std::to_string(value));
  return value;
}

std::optional<double> JsonFields::get_double(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(key, "a number", *v);
  const double d = v->get<double>();
  if (!std::isfinite(d)) fail(key, "must be finite");
  return d;
}

std::optional<bool> JsonFields::get_bool(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(key, "true or false", *v);
  return v->get<bool>();
}

std::optional<std::string> JsonFields::get_string(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong_type(key, "a string", *v);
  return v->get<std::string>();
}

std::vector<double> JsonFields::get_double_list(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return {};
  if (!v->is_array()) wrong_type(key, "a list of numbers", *v);
  std::vector<double> out;
  out.reserve(v->size());
  for (const auto& e : *v) {
    if (!e.is_number() || !std::isfinite(e.get<double>())) wrong_type(key, "a list of numbers", *v);
    out.push_back(e.get<double>());
  }
  return out;
}

std::vector<int32_t> JsonFields::get_token_ids(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return {};
  auto id_of = [&](const nlohmann::json& e) -> int32_t {
    // Parsed non-negative numbers are unsigned, but JSON built in code holds signed ones: accept both.
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    const bool ok = e.is_number_unsigned() ? e.get<uint64_t>() <= static_cast<uint64_t>(kMax)
                                           : e.is_number_integer() && e.get<int64_t>() >= 0 && e.get<int64_t>() <= kMax;
    if (!ok) wrong_type(key, "a token id (non-negative integer) or a list of them", *v);
    return static_cast<int32_t>(e.get<int64_t>());
  };
  std::vector<int32_t> ids;
  if (v->is_array()) {
    for (const auto& e : *v) ids.push_back(id_of(e));
  } else {
    ids.push_back(id_of(*v));
  }
  return ids;
}

std::optional<int32_t> JsonFields::get_token_id(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_array()) wrong_type(key, "a token id (non-negative integer)", *v);
  return get_token_ids(key).front();
}

const nlohmann::json* JsonFields::get_object(std::string_view key) const {
  const nlohmann::json* v = get(key);
  if (v && !v->is_object()) wrong_type(key, "an object", *v);
  return v;
}

}  // namespace turbolm
