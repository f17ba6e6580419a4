// Typed, validated access to the fields of one JSON object from a config file. A missing key and a null value
// both read as "absent" (HF configs write null for unset fields); a value of the wrong type throws
// kInvalidArgument "<source>: '<prefix><key>' must be <what>, got <value>".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace turbolm {

class JsonFields {
 public:
  // `prefix` qualifies keys of nested objects in messages ("rope_scaling."). Throws when `object` is no object.
  JsonFields(const nlohmann::json& object, std::string_view source, std::string prefix = {});

  const nlohmann::json* get(std::string_view key) const;  // null when missing or null
  bool has(std::string_view key) const { return get(key) != nullptr; }

  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key, int64_t min, int64_t max) const;  // range checked
  std::optional<double> get_double(std::string_view key) const;                          // finite
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  std::vector<double> get_double_list(std::string_view key) const;  // empty when absent
  // A token id or list of token ids (eos_token_id); empty when absent. Ids must be in [0, 2^31).
  std::vector<int32_t> get_token_ids(std::string_view key) const;
  std::optional<int32_t> get_token_id(std::string_view key) const;

  // A nested object; null when absent, throws when it is not an object.
  const nlohmann::json* get_object(std::string_view key) const;

  [[noreturn]] void fail(std::string_view key, std::string_view message) const;
  const std::string& source() const { return source_; }
  const std::string& prefix() const { return prefix_; }

 private:
  [[noreturn]] void wrong_type(std::string_view key, std::string_view what, const nlohmann::json& value) const;

  const nlohmann::json& object_;
  std::string source_;
  std::string prefix_;
};

}  // namespace turbolm
