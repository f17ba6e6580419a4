// RopeTable from a model config, following transformers' ROPE_INIT_FUNCTIONS (modeling_rope_utils.py, 4.56+:
// yarn uses the configured factor, #40320) with the same f32 tensor arithmetic, and the rope op's dispatch.
#include "ops/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "io/model_config.h"
#include "ops/dispatch.h"

namespace turbolm {
namespace {

// 1 / base^(2i / dim) in f32, as `1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))`.
std::vector<float> default_inv_freq(double base, int dim) {
  std::vector<float> inv(dim / 2);
  for (int i = 0; i < dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv[i] = 1.0f / std::pow(static_cast<float>(base), exponent);
  }
  return inv;
}

void apply_llama3(const RopeScaling& rs, std::vector<float>& inv) {
  const float factor = static_cast<float>(rs.factor), low = static_cast<float>(rs.low_freq_factor),
              high = static_cast<float>(rs.high_freq_factor);
  const double old_ctx = rs.original_max_position_embeddings;
  const float low_freq_wavelen = static_cast<float>(old_ctx / rs.low_freq_factor);
  const float high_freq_wavelen = static_cast<float>(old_ctx / rs.high_freq_factor);
  for (float& f : inv) {
    const float wavelen = static_cast<float>(2.0 * std::numbers::pi) / f;
    const float scaled = wavelen > low_freq_wavelen ? f / factor : f;
    const float smooth = (static_cast<float>(old_ctx) / wavelen - low) / (high - low);
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    f = medium ? (1.0f - smooth) * scaled / factor + smooth * scaled : scaled;
  }
}

double yarn_get_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

void apply_yarn(const RopeScaling& rs, double base, int dim, RopeTable& t) {
  const double factor = rs.factor;
  const double orig = rs.original_max_position_embeddings;
  if (rs.attention_factor) {
    t.attention_scaling = static_cast<float>(*rs.attention_factor);
  } else if (rs.mscale.value_or(0.0) != 0.0 && rs.mscale_all_dim.value_or(0.0) != 0.0) {
    t.attention_scaling =
        static_cast<float>(yarn_get_mscale(factor, *rs.mscale) / yarn_get_mscale(factor, *rs.mscale_all_dim));
  } else {
    t.attention_scaling = static_cast<float>(yarn_get_mscale(factor, 1.0));
  }
  const double beta_fast = rs.beta_fast != 0.0 ? rs.beta_fast : 32.0;
  const double beta_slow = rs.beta_slow != 0.0 ? rs.beta_slow : 1.0;
  const auto correction_dim = [&](double rotations) {
    return (dim * std::log(orig / (rotations * 2.0 * std::numbers::pi))) / (2.0 * std::log(base));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (rs.truncate) low = std::floor(low), high = std::ceil(high);
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // prevent a singular ramp
  for (int i = 0; i < dim / 2; ++i) {
    const float pos_freq = std::pow(static_cast<float>(base), static_cast<float>(2 * i) / static_cast<float>(dim));
    const float extrapolation = 1.0f / pos_freq;
    const float interpolation = 1.0f / (static_cast<float>(factor) * pos_freq);
    const float ramp =
        std::clamp((static_cast<float>(i) - static_cast<float>(low)) / static_cast<float>(high - low), 0.0f, 1.0f);
    const float extrapolation_factor = 1.0f - ramp;
    t.inv_freq[i] = interpolation * (1.0f - extrapolation_factor) + extrapolation * extrapolation_factor;
  }
}

void apply_longrope(const ModelConfig& c, const RopeScaling& rs, double base, int dim, RopeTable& t) {
  TLM_CHECK_ARG(static_cast<int>(rs.short_factor.size()) == dim / 2 &&
                static_cast<int>(rs.long_factor.size()) == dim / 2)
      << "longrope: short_factor and long_factor need " << dim / 2 << " entries, got " << rs.short_factor.size()
      << " and " << rs.long_factor.size();
  const double orig = rs.original_max_position_embeddings;
  // Phi-3 style configs extend max_position_embeddings; the ratio is the scaling factor.
  const double factor = orig > 0 && c.max_position_embeddings != orig ? c.max_position_embeddings / orig : rs.factor;
  if (rs.attention_factor) {
    t.attention_scaling = static_cast<float>(*rs.attention_factor);
  } else {
    t.attention_scaling = factor <= 1.0 ? 1.0f : static_cast<float>(std::sqrt(1.0 + std::log(factor) / std::log(orig)));
  }
  const auto table = [&](const std::vector<double>& ext) {
    std::vector<float> inv(dim / 2);
    for (int i = 0; i < dim / 2; ++i) {
      const float shape = static_cast<float>(2 * i) / static_cast<float>(dim);
      inv[i] = 1.0f / (static_cast<float>(ext[i]) * std::pow(static_cast<float>(base), shape));
    }
    return inv;
  };
  t.inv_freq = table(rs.short_factor);
  t.long_inv_freq = table(rs.long_factor);
  t.original_max_positions = static_cast<int64_t>(orig);
}

}  // namespace

RopeTable RopeTable::from_config(const ModelConfig& c) {
  RopeTable t;
  const int64_t head_dim = c.head_dim > 0 ? c.head_dim : c.hidden_size / std::max<int64_t>(c.num_attention_heads, 1);
  TLM_CHECK_ARG(head_dim > 0 && head_dim % 2 == 0) << "rope: head_dim must be a positive even number, got " << head_dim;
  const int dim = static_cast<int>(head_dim);
  const RopeScaling& rs = c.rope_scaling;
  t.rotary_dim = dim;
  t.base = c.rope_theta;
  t.inv_freq = default_inv_freq(c.rope_theta, dim);
  t.original_max_positions =
      rs.original_max_position_embeddings > 0 ? rs.original_max_position_embeddings : c.max_position_embeddings;
  switch (rs.type) {
    case RopeType::kDefault: break;
    case RopeType::kLinear:
      for (float& f : t.inv_freq) f /= static_cast<float>(rs.factor);
      break;
    case RopeType::kDynamic:
      t.dynamic = true;
      t.dynamic_factor = rs.factor;
      break;
    case RopeType::kLlama3: apply_llama3(rs, t.inv_freq); break;
    case RopeType::kYarn: apply_yarn(rs, c.rope_theta, dim, t); break;
    case RopeType::kLongRope: apply_longrope(c, rs, c.rope_theta, dim, t); break;
  }
  return t;
}

RopeTable RopeTable::for_seq_len(int64_t seq_len) const {
  RopeTable t = *this;
  if (dynamic && seq_len > original_max_positions) {
    const double dim = rotary_dim;
    const double scaled_base =
        base * std::pow(dynamic_factor * static_cast<double>(seq_len) / static_cast<double>(original_max_positions) -
                            (dynamic_factor - 1.0),
                        dim / (dim - 2.0));
    t.inv_freq = default_inv_freq(scaled_base, rotary_dim);
  }
  if (!long_inv_freq.empty() && seq_len > original_max_positions) t.inv_freq = long_inv_freq;
  return t;
}

void rope(const ExecContext& ctx, Tensor& q, Tensor& k, const Tensor& positions, const RopeTable& table) {
  using namespace ops_detail;
  constexpr std::string_view op = "rope";
  for (const Tensor* t : std::initializer_list<const Tensor*>{&q, &k, &positions}) {
    check_device(op, ctx, *t, "a tensor");
    check_contiguous(op, *t, "a tensor");
  }
  check_float(op, q, "q");
  check_float(op, k, "k");
  check_dtype(op, positions, DType::kI32, "positions");
  TLM_CHECK_ARG(q.rank() == 3 && k.rank() == 3)
      << "rope: q and k must be [T, H, D], got " << q.to_string() << " and " << k.to_string();
  TLM_CHECK_ARG(k.dim(0) == q.dim(0) && k.dim(2) == q.dim(2))
      << "rope: q " << q.to_string() << " and k " << k.to_string() << " disagree on tokens or head_dim";
  check_shape(op, positions, {q.dim(0)}, "positions");
  TLM_CHECK_ARG(table.rotary_dim > 0 && table.rotary_dim <= q.dim(2) && table.rotary_dim % 2 == 0 &&
                static_cast<int>(table.inv_freq.size()) == table.rotary_dim / 2)
      << "rope: table with rotary_dim " << table.rotary_dim << " and " << table.inv_freq.size()
      << " frequencies does not fit head_dim " << q.dim(2);
  TLM_DISPATCH(ctx, rope, ctx, q, k, positions, table);
}

}  // namespace turbolm
