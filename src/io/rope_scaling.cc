#include "io/rope_scaling.h"

#include <limits>

#include "core/error.h"

namespace turbolm {
namespace {

struct RopeTypeName {
  RopeType type;
  std::string_view name;
};

constexpr RopeTypeName kRopeTypes[] = {
    {RopeType::kDefault, "default"}, {RopeType::kLinear, "linear"}, {RopeType::kDynamic, "dynamic"},
    {RopeType::kLlama3, "llama3"},   {RopeType::kYarn, "yarn"},     {RopeType::kLongRope, "longrope"},
};

std::optional<RopeType> rope_type_from_name(std::string_view name) {
  if (name == "su") return RopeType::kLongRope;  // Phi-3's early name for longrope
  for (const auto& t : kRopeTypes)
    if (t.name == name) return t.type;
  return std::nullopt;
}

double require_positive(const JsonFields& f, std::string_view key, std::optional<double> value, bool required,
                        double fallback) {
  if (!value) {
    if (required) f.fail(key, "is required for this rope type");
    return fallback;
  }
  if (*value <= 0) f.fail(key, "must be positive, got " + std::to_string(*value));
  return *value;
}

}  // namespace

std::string_view rope_type_name(RopeType type) {
  for (const auto& t : kRopeTypes)
    if (t.type == type) return t.name;
  return "unknown";
}

RopeScaling parse_rope_scaling(const JsonFields& f, int64_t max_position_embeddings) {
  RopeScaling rs;
  // transformers accepts both spellings; old configs write "type", new ones "rope_type", some both.
  const std::optional<std::string> rope_type = f.get_string("rope_type");
  const std::optional<std::string> type = f.get_string("type");
  if (rope_type && type && *rope_type != *type)
    f.fail("rope_type", "is '" + *rope_type + "' but 'type' is '" + *type + "'");
  const std::string name = rope_type ? *rope_type : type ? *type : "default";
  const std::optional<RopeType> parsed = rope_type_from_name(name);
  if (!parsed)
    TLM_FAIL(kUnsupported) << f.source() << ": unsupported rope type '" << name
                           << "' (supported: default, linear, dynamic, llama3, yarn, longrope)";
  rs.type = *parsed;
  if (rs.type == RopeType::kDefault) return rs;

  const bool factor_required = rs.type != RopeType::kLongRope;
  rs.factor = require_positive(f, "factor", f.get_double("factor"), factor_required, 1.0);
  const std::optional<int64_t> original =
      f.get_int("original_max_position_embeddings", 1, std::numeric_limits<int>::max());
  if (rs.type == RopeType::kLlama3 && !original) f.fail("original_max_position_embeddings", "is required for llama3");
  rs.original_max_position_embeddings = static_cast<int>(original.value_or(max_position_embeddings));

  switch (rs.type) {
    case RopeType::kLlama3:
      rs.low_freq_factor = require_positive(f, "low_freq_factor", f.get_double("low_freq_factor"), true, 0);
      rs.high_freq_factor = require_positive(f, "high_freq_factor", f.get_double("high_freq_factor"), true, 0);
      if (rs.high_freq_factor <= rs.low_freq_factor) f.fail("high_freq_factor", "must be greater than low_freq_factor");
      break;
    case RopeType::kYarn:
      rs.beta_fast = require_positive(f, "beta_fast", f.get_double("beta_fast"), false, rs.beta_fast);
      rs.beta_slow = require_positive(f, "beta_slow", f.get_double("beta_slow"), false, rs.beta_slow);
      if (rs.beta_fast < rs.beta_slow) f.fail("beta_fast", "must not be less than beta_slow");
      rs.attention_factor = f.get_double("attention_factor");
      rs.mscale = f.get_double("mscale");
      rs.mscale_all_dim = f.get_double("mscale_all_dim");
      rs.truncate = f.get_bool("truncate").value_or(true);
      break;
    case RopeType::kLongRope:
      rs.short_factor = f.get_double_list("short_factor");
      rs.long_factor = f.get_double_list("long_factor");
      if (rs.short_factor.empty() || rs.short_factor.size() != rs.long_factor.size())
        f.fail("short_factor", "and 'long_factor' must be non-empty lists of the same length");
      rs.attention_factor = f.get_double("attention_factor");
      break;
    default: break;
  }
  if (rs.attention_factor && *rs.attention_factor <= 0) f.fail("attention_factor", "must be positive");
  return rs;
}

}  // namespace turbolm
