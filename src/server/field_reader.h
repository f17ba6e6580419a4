// Typed access to the fields of one request JSON object. Every mistake becomes a 400 ApiError whose `param`
// names the field, so clients see which argument was wrong. Missing and null both read as "absent"
// (OpenAI SDKs send null for unset optional fields).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace turbolm::server {

// Deepest nesting of objects and arrays a request body may have (the body object is level 1; OpenAI tool schemas
// stay far below).
constexpr int kMaxJsonDepth = 64;

// Parses a request body; 400 when it is not JSON, not an object or nested deeper than kMaxJsonDepth.
nlohmann::json parse_json_object(std::string_view body);

class FieldReader {
 public:
  // `prefix` qualifies the names of nested fields in errors ("stream_options.").
  FieldReader(const nlohmann::json& object, std::string prefix = {});

  // OpenAI rejects arguments it does not know ("Unrecognized request argument supplied: x").
  void reject_unknown(std::initializer_list<std::string_view> known) const;

  const nlohmann::json* get(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;
  // Integers; a float with an integral value (3.0) is accepted as pydantic does.
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) const;
  std::optional<double> number(std::string_view key, double min, double max) const;
  std::optional<std::string> string(std::string_view key) const;
  // A string or a list of strings (`stop`); empty strings are dropped.
  std::vector<std::string> string_or_list(std::string_view key, size_t max_items) const;
  std::vector<int32_t> token_ids(std::string_view key) const;

  [[noreturn]] void invalid(std::string_view key, std::string_view message) const;
  std::string name(std::string_view key) const { return prefix_ + std::string(key); }

 private:
  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected, const nlohmann::json& value) const;

  const nlohmann::json& object_;
  std::string prefix_;
};

// A token id list ([1, 2, 3]) in a named field; 400 on anything else.
std::vector<int32_t> read_token_ids(const nlohmann::json& value, const std::string& param);

}  // namespace turbolm::server
