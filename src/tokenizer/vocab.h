// A token <-> id table with string_view lookups (no temporary std::string per lookup).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace turbolm {

class Vocab {
 public:
  void add(std::string token, int32_t id) {
    if (id < 0) return;
    if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(id + 1);
    id_to_token_[id] = token;
    token_to_id_.emplace(std::move(token), id);
  }
  std::optional<int32_t> find(std::string_view token) const {
    auto it = token_to_id_.find(token);
    if (it == token_to_id_.end()) return std::nullopt;
    return it->second;
  }
  const std::string* token(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < id_to_token_.size() ? &id_to_token_[id] : nullptr;
  }
  int32_t size() const { return static_cast<int32_t>(id_to_token_.size()); }
  void reserve(size_t n) { token_to_id_.reserve(n); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> token_to_id_;
  std::vector<std::string> id_to_token_;
};

}  // namespace turbolm
