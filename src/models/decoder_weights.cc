#include "models/decoder_weights.h"

#include <fmt/format.h>

#include <cstring>

#include "core/error.h"
#include "ops/elementwise.h"

namespace turbolm {
namespace {

std::string layer_name(std::string_view pattern, int64_t layer) { return fmt::format(fmt::runtime(pattern), layer); }

std::string bias_name(const std::string& weight_name) {
  TLM_CHECK(weight_name.ends_with(".weight")) << weight_name;
  return weight_name.substr(0, weight_name.size() - 7) + ".bias";
}

class Loader {
 public:
  Loader(const WeightSource& source, Device device) : source_(source), device_(device) {}

  // A weight with the expected shape, in its stored float dtype.
  Tensor get(const std::string& name, const Shape& shape) const {
    Tensor t = source_.get(name);
    if (!dtype_is_float(t.dtype()) || dtype_bits(t.dtype()) > 32 || dtype_bits(t.dtype()) < 16)
      TLM_FAIL(kUnsupported) << source_.dir().string() << ": tensor '" << name << "' has dtype "
                             << dtype_name(t.dtype()) << "; dense weights must be f32, f16 or bf16";
    if (t.shape() != shape)
      TLM_FAIL(kInvalidArgument) << source_.dir().string() << ": tensor '" << name << "' has shape "
                                 << shape_to_string(t.shape()) << ", expected " << shape_to_string(shape)
                                 << " from config.json";
    return t;
  }

  // Bias as f32 [out] when the checkpoint has one.
  Tensor optional_bias(const std::string& weight_name, int64_t out, bool required) const {
    const std::string name = bias_name(weight_name);
    if (!source_.contains(name)) {
      if (required) TLM_FAIL(kInvalidArgument) << source_.dir().string() << ": missing tensor '" << name << "'";
      return {};
    }
    return to_f32(get(name, {out}));
  }

  LinearWeight linear(const std::string& name, int64_t out, int64_t in, bool bias_required = false) const {
    return LinearWeight{get(name, {out, in}), optional_bias(name, out, bias_required)};
  }

  // Places a host tensor on the target device (zero-copy on CPU).
  Tensor place(const Tensor& t) const {
    if (!t.defined() || device_.is_cpu()) return t;
    Tensor d = Tensor::empty(t.shape(), t.dtype(), device_);
    ExecContext ctx;
    copy(ctx, t, d);
    return d;
  }
  LinearWeight place(const LinearWeight& w) const { return {place(w.weight), place(w.bias)}; }

  static Tensor to_f32(const Tensor& t) {
    if (t.dtype() == DType::kF32) return t;
    Tensor out = Tensor::empty(t.shape(), DType::kF32);
    ExecContext ctx;
    convert(ctx, t, out);
    return out;
  }

 private:
  const WeightSource& source_;
  Device device_;
};

// Row-wise concatenation of same-dtype matrices [r_i, C] -> [sum r_i, C] (host).
Tensor concat_rows(const std::vector<Tensor>& parts) {
  int64_t rows = 0;
  for (const auto& p : parts) rows += p.dim(0);
  Tensor out = Tensor::empty({rows, parts[0].dim(1)}, parts[0].dtype());
  char* dst = static_cast<char*>(out.data());
  for (const auto& p : parts) {
    TLM_CHECK(p.dtype() == parts[0].dtype()) << "mixed dtypes in fused weight";
    std::memcpy(dst, p.data(), p.nbytes());
    dst += p.nbytes();
  }
  return out;
}

Tensor concat_bias(const Tensor& a, const Tensor& b) {
  if (!a.defined() && !b.defined()) return {};
  TLM_CHECK_ARG(a.defined() && b.defined()) << "gate and up projections must both have a bias or neither";
  Tensor out = Tensor::empty({a.dim(0) + b.dim(0)}, DType::kF32);
  std::memcpy(out.data(), a.data(), a.nbytes());
  std::memcpy(static_cast<char*>(out.data()) + a.nbytes(), b.data(), b.nbytes());
  return out;
}

// InternLM2 `wqkv` [Hkv*(G+2)*D, H], grouped per kv head g as [q_{g*G} .. q_{g*G+G-1}, k_g, v_g] (D rows each),
// -> q [Hq*D, H], k [Hkv*D, H], v [Hkv*D, H] in head order.
void ungroup_qkv(const Tensor& packed, int64_t hkv, int64_t groups, int64_t head_dim, Tensor& q, Tensor& k, Tensor& v) {
  const int64_t cols = packed.dim(1);
  const size_t head_bytes = dtype_bytes(packed.dtype(), static_cast<size_t>(head_dim * cols));
  q = Tensor::empty({hkv * groups * head_dim, cols}, packed.dtype());
  k = Tensor::empty({hkv * head_dim, cols}, packed.dtype());
  v = Tensor::empty({hkv * head_dim, cols}, packed.dtype());
  const char* src = static_cast<const char*>(packed.data());
  for (int64_t g = 0; g < hkv; ++g) {
    for (int64_t j = 0; j < groups; ++j, src += head_bytes)
      std::memcpy(static_cast<char*>(q.data()) + (g * groups + j) * head_bytes, src, head_bytes);
    std::memcpy(static_cast<char*>(k.data()) + g * head_bytes, src, head_bytes);
    src += head_bytes;
    std::memcpy(static_cast<char*>(v.data()) + g * head_bytes, src, head_bytes);
    src += head_bytes;
  }
}

}  // namespace

size_t DecoderWeights::bytes() const {
  auto lw = [](const LinearWeight& w) { return w.weight.nbytes() + (w.bias.defined() ? w.bias.nbytes() : 0); };
  size_t total = embed.nbytes() + final_norm.nbytes();
  if (lm_head.weight.data() != embed.data()) total += lw(lm_head);
  for (const auto& l : layers) {
    total +=
        l.attn_norm.nbytes() + l.ffn_norm.nbytes() + lw(l.q) + lw(l.k) + lw(l.v) + lw(l.o) + lw(l.gate_up) + lw(l.down);
    if (l.q_norm.defined()) total += l.q_norm.nbytes() + l.k_norm.nbytes();
  }
  return total;
}

DecoderWeights load_decoder_weights(const ModelConfig& c, const FamilySpec& family, const WeightSource& source,
                                    Device device) {
  const Loader loader(source, device);
  const int64_t H = c.hidden_size, D = c.head_dim, Hq = c.num_attention_heads, Hkv = c.num_key_value_heads,
                I = c.intermediate_size, V = c.vocab_size;
  DecoderWeights w;
  Tensor embed = loader.get(std::string(family.embed), {V, H});
  w.embed = loader.place(embed);
  w.final_norm = loader.place(loader.get(std::string(family.final_norm), {H}));
  const std::string lm_head_name(family.lm_head);
  if (c.tie_word_embeddings || !source.contains(lm_head_name)) {
    if (!c.tie_word_embeddings)
      TLM_FAIL(kInvalidArgument) << source.dir().string() << ": missing tensor '" << lm_head_name
                                 << "' (and tie_word_embeddings is false)";
    w.lm_head = LinearWeight{w.embed, {}};
  } else {
    w.lm_head = loader.place(loader.linear(lm_head_name, V, H));
  }

  w.layers.resize(c.num_hidden_layers);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    DecoderLayerWeights& l = w.layers[i];
    l.attn_norm = loader.place(loader.get(layer_name(family.attn_norm, i), {H}));
    l.ffn_norm = loader.place(loader.get(layer_name(family.ffn_norm, i), {H}));
    if (!family.qkv_grouped.empty()) {
      const std::string name = layer_name(family.qkv_grouped, i);
      Tensor packed = loader.get(name, {(Hq + 2 * Hkv) * D, H});
      ungroup_qkv(packed, Hkv, Hq / Hkv, D, l.q.weight, l.k.weight, l.v.weight);
      if (Tensor bias = loader.optional_bias(name, (Hq + 2 * Hkv) * D, false); bias.defined()) {
        Tensor bq, bk, bv;
        ungroup_qkv(bias.view({-1, 1}), Hkv, Hq / Hkv, D, bq, bk, bv);
        l.q.bias = bq.view({-1}), l.k.bias = bk.view({-1}), l.v.bias = bv.view({-1});
      }
    } else {
      l.q = loader.linear(layer_name(family.q, i), Hq * D, H, family.requires_qkv_bias);
      l.k = loader.linear(layer_name(family.k, i), Hkv * D, H, family.requires_qkv_bias);
      l.v = loader.linear(layer_name(family.v, i), Hkv * D, H, family.requires_qkv_bias);
    }
    l.q = loader.place(l.q), l.k = loader.place(l.k), l.v = loader.place(l.v);
    l.o = loader.place(loader.linear(layer_name(family.o, i), H, Hq * D));
    if (!family.q_norm.empty()) {
      l.q_norm = loader.place(loader.get(layer_name(family.q_norm, i), {D}));
      l.k_norm = loader.place(loader.get(layer_name(family.k_norm, i), {D}));
    }
    LinearWeight gate = loader.linear(layer_name(family.gate, i), I, H);
    LinearWeight up = loader.linear(layer_name(family.up, i), I, H);
    l.gate_up = loader.place(LinearWeight{concat_rows({gate.weight, up.weight}), concat_bias(gate.bias, up.bias)});
    l.down = loader.place(loader.linear(layer_name(family.down, i), H, I));
  }
  return w;
}

}  // namespace turbolm
