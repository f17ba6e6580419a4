#include <fmt/format.h>

#include <limits>

#include "core/error.h"
#include "io/json_fields.h"
#include "io/json_file.h"
#include "io/model_config.h"

namespace turbolm {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();

std::optional<double> in_range(const JsonFields& f, std::string_view key, double lo, double hi, bool lo_open) {
  const std::optional<double> v = f.get_double(key);
  if (v && (*v < lo || *v > hi || (lo_open && *v == lo))) {
    // "must be > 0", "must be >= 0" or "must be in (0, 1]", with numbers as short as they can be written.
    const std::string low = fmt::format("{}", lo), high = fmt::format("{}", hi);
    const std::string rule = hi == std::numeric_limits<double>::max()
                                 ? (lo_open ? "> " : ">= ") + low
                                 : "in " + std::string(lo_open ? "(" : "[") + low + ", " + high + "]";
    f.fail(key, fmt::format("must be {}, got {}", rule, *v));
  }
  return v;
}

std::optional<int> small_int(const JsonFields& f, std::string_view key, int64_t lo) {
  const std::optional<int64_t> v = f.get_int(key, lo, kMaxInt);
  return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

}  // namespace

GenerationDefaults GenerationDefaults::from_json(const nlohmann::json& j, std::string_view source_name) {
  const JsonFields f(j, source_name);
  constexpr double kInf = std::numeric_limits<double>::max();
  GenerationDefaults g;
  g.eos_token_ids = f.get_token_ids("eos_token_id");
  g.bos_token_id = f.get_token_id("bos_token_id");
  if (f.get_int("pad_token_id").value_or(0) >= 0) g.pad_token_id = f.get_token_id("pad_token_id");
  g.do_sample = f.get_bool("do_sample");
  g.temperature = in_range(f, "temperature", 0, kInf, false);
  g.top_p = in_range(f, "top_p", 0, 1, true);
  g.min_p = in_range(f, "min_p", 0, 1, false);
  g.repetition_penalty = in_range(f, "repetition_penalty", 0, kInf, true);
  g.top_k = small_int(f, "top_k", 0);
  g.max_new_tokens = small_int(f, "max_new_tokens", 1);
  g.max_length = small_int(f, "max_length", 1);
  return g;
}

GenerationDefaults GenerationDefaults::from_dir(const std::filesystem::path& model_dir) {
  const std::filesystem::path path = model_dir / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  return from_json(read_json_file(path), path.string());
}

}  // namespace turbolm
