#include "models/decoder_weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/logging.h"
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
    used_.insert(name);
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

  // Marks a tensor as accounted for without loading it.
  void skip(const std::string& name) const { used_.insert(name); }

  // The checkpoint's tensors no get() or skip() asked for, except buffers transformers ignores too (RoPE's
  // inv_freq of older Llama checkpoints).
  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const std::string& name : source_.names())
      if (!used_.contains(name) && !name.ends_with("rotary_emb.inv_freq")) out.push_back(name);
    return out;
  }

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
  mutable std::set<std::string> used_;
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

// The fused weight of projections that share their input: rows concatenated, biases too (all or none).
LinearWeight fuse(const std::vector<LinearWeight>& parts, const char* what) {
  std::vector<Tensor> weights, biases;
  for (const auto& p : parts) {
    weights.push_back(p.weight);
    if (p.bias.defined()) biases.push_back(p.bias.view({-1, 1}));
  }
  TLM_CHECK_ARG(biases.empty() || biases.size() == parts.size())
      << "the " << what << " projections must all have a bias or none";
  return {concat_rows(weights), biases.empty() ? Tensor{} : concat_rows(biases).view({-1})};
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

// Rows [begin, end) of a column-parallel linear: a view of the weight and bias, no copy.
LinearWeight shard_rows(const LinearWeight& w, int64_t begin, int64_t end) {
  if (begin == 0 && end == w.out_features()) return w;
  return {w.weight.slice(0, begin, end), w.bias.defined() ? w.bias.slice(0, begin, end) : Tensor{}};
}

// Input columns [begin, end) of a row-parallel linear [out, in] (host copy: a column block is strided).
// The bias is kept on one rank only, so that it is added once by the all-reduce of the partial outputs.
LinearWeight shard_columns(const LinearWeight& w, int64_t begin, int64_t end, bool keep_bias) {
  if (begin == 0 && end == w.in_features()) return w;
  const int64_t rows = w.out_features();
  const size_t src_row = dtype_bytes(w.weight.dtype(), static_cast<size_t>(w.in_features()));
  const size_t dst_row = dtype_bytes(w.weight.dtype(), static_cast<size_t>(end - begin));
  const size_t offset = dtype_bytes(w.weight.dtype(), static_cast<size_t>(begin));
  Tensor out = Tensor::empty({rows, end - begin}, w.weight.dtype());
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(static_cast<char*>(out.data()) + r * dst_row,
                static_cast<const char*>(w.weight.data()) + r * src_row + offset, dst_row);
  }
  return {out, keep_bias ? w.bias : Tensor{}};
}

// The rank's vocab rows of the embedding [V, H] -> [V/tp + 1, H] with a trailing zero row (DecoderWeights).
Tensor shard_embedding(const Tensor& embed, const DecoderShard& s) {
  if (!s.split()) return embed;
  return concat_rows(
      {embed.slice(0, s.vocab_begin, s.vocab_begin + s.vocab), Tensor::zeros({1, embed.dim(1)}, embed.dtype())});
}

}  // namespace

DecoderShard DecoderShard::make(const ModelConfig& c, int rank, int size) {
  TLM_CHECK_ARG(size >= 1 && rank >= 0 && rank < size) << "bad tensor-parallel rank " << rank << " of " << size;
  const int64_t Hq = c.num_attention_heads, Hkv = c.num_key_value_heads, I = c.intermediate_size, V = c.vocab_size;
  auto require_divides = [&](int64_t dim, const char* name) {
    TLM_CHECK_ARG(dim % size == 0) << "--tp " << size << " must divide " << name << " (" << dim << ") of "
                                   << c.architecture;
  };
  require_divides(Hq, "num_attention_heads");
  require_divides(I, "intermediate_size");
  require_divides(V, "vocab_size");
  TLM_CHECK_ARG(Hkv % size == 0 || size % Hkv == 0) << "--tp " << size << " must divide num_key_value_heads (" << Hkv
                                                    << ") of " << c.architecture << " or be a multiple of it";
  DecoderShard s;
  s.rank = rank;
  s.size = size;
  s.q_heads = Hq / size;
  s.q_head_begin = rank * s.q_heads;
  s.kv_heads = std::max<int64_t>(1, Hkv / size);
  s.kv_head_begin = rank * Hkv / size;
  s.intermediate = I / size;
  s.vocab = V / size;
  s.vocab_begin = rank * s.vocab;
  return s;
}

size_t DecoderWeights::bytes() const {
  auto lw = [](const LinearWeight& w) { return w.weight.nbytes() + (w.bias.defined() ? w.bias.nbytes() : 0); };
  size_t total = embed.nbytes() + final_norm.nbytes();
  if (lm_head.weight.data() != embed.data()) total += lw(lm_head);
  for (const auto& l : layers) {
    total += l.attn_norm.nbytes() + l.ffn_norm.nbytes() + lw(l.qkv) + lw(l.o) + lw(l.gate_up) + lw(l.down);
    if (l.q_norm.defined()) total += l.q_norm.nbytes() + l.k_norm.nbytes();
  }
  return total;
}

DecoderWeights load_decoder_weights(const ModelConfig& c, const FamilySpec& family, const WeightSource& source,
                                    Device device) {
  return load_decoder_weights(c, family, source, device, DecoderShard::make(c, 0, 1));
}

DecoderWeights load_decoder_weights(const ModelConfig& c, const FamilySpec& family, const WeightSource& source,
                                    Device device, const DecoderShard& s) {
  const Loader loader(source, device);
  const int64_t H = c.hidden_size, D = c.head_dim, Hq = c.num_attention_heads, Hkv = c.num_key_value_heads,
                I = c.intermediate_size, V = c.vocab_size;
  DecoderWeights w;
  w.shard = s;
  Tensor embed = loader.get(std::string(family.embed), {V, H});
  w.embed = loader.place(shard_embedding(embed, s));
  w.final_norm = loader.place(loader.get(std::string(family.final_norm), {H}));
  const std::string lm_head_name(family.lm_head);
  if (c.tie_word_embeddings && source.contains(lm_head_name)) {
    // Tied checkpoints often store the head too; transformers ignores it, and so do we, but not silently when it
    // cannot be the embedding's copy.
    loader.skip(lm_head_name);
    const Shape stored = source.get(lm_head_name).shape();
    if (stored != Shape{V, H} && s.rank == 0)
      TLM_LOG_WARNING(
          "{}: tensor '{}' has shape {}, but tie_word_embeddings uses the embedding [{}, {}]; it is ignored",
          source.dir().string(), lm_head_name, shape_to_string(stored), V, H);
  }
  if (c.tie_word_embeddings || !source.contains(lm_head_name)) {
    if (!c.tie_word_embeddings)
      TLM_FAIL(kInvalidArgument) << source.dir().string() << ": missing tensor '" << lm_head_name
                                 << "' (and tie_word_embeddings is false)";
    w.lm_head = LinearWeight{s.split() ? w.embed.slice(0, 0, s.vocab) : w.embed, {}};  // without the zero row
  } else {
    w.lm_head = loader.place(shard_rows(loader.linear(lm_head_name, V, H), s.vocab_begin, s.vocab_begin + s.vocab));
  }

  w.layers.resize(c.num_hidden_layers);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    DecoderLayerWeights& l = w.layers[i];
    l.attn_norm = loader.place(loader.get(layer_name(family.attn_norm, i), {H}));
    l.ffn_norm = loader.place(loader.get(layer_name(family.ffn_norm, i), {H}));
    LinearWeight q, k, v;  // whole-model q/k/v projections, fused below
    if (!family.qkv_grouped.empty()) {
      const std::string name = layer_name(family.qkv_grouped, i);
      Tensor packed = loader.get(name, {(Hq + 2 * Hkv) * D, H});
      ungroup_qkv(packed, Hkv, Hq / Hkv, D, q.weight, k.weight, v.weight);
      if (Tensor bias = loader.optional_bias(name, (Hq + 2 * Hkv) * D, false); bias.defined()) {
        Tensor bq, bk, bv;
        ungroup_qkv(bias.view({-1, 1}), Hkv, Hq / Hkv, D, bq, bk, bv);
        q.bias = bq.view({-1}), k.bias = bk.view({-1}), v.bias = bv.view({-1});
      }
    } else {
      q = loader.linear(layer_name(family.q, i), Hq * D, H, family.requires_qkv_bias);
      k = loader.linear(layer_name(family.k, i), Hkv * D, H, family.requires_qkv_bias);
      v = loader.linear(layer_name(family.v, i), Hkv * D, H, family.requires_qkv_bias);
    }
    const int64_t q_begin = s.q_head_begin * D, q_end = q_begin + s.q_heads * D;
    const int64_t kv_begin = s.kv_head_begin * D, kv_end = kv_begin + s.kv_heads * D;
    l.qkv = loader.place(fuse(
        {shard_rows(q, q_begin, q_end), shard_rows(k, kv_begin, kv_end), shard_rows(v, kv_begin, kv_end)}, "q/k/v"));
    l.o = loader.place(shard_columns(loader.linear(layer_name(family.o, i), H, Hq * D), q_begin, q_end, s.rank == 0));
    if (!family.q_norm.empty()) {
      l.q_norm = loader.place(loader.get(layer_name(family.q_norm, i), {D}));
      l.k_norm = loader.place(loader.get(layer_name(family.k_norm, i), {D}));
    }
    const int64_t i_begin = s.rank * s.intermediate, i_end = i_begin + s.intermediate;
    LinearWeight gate = shard_rows(loader.linear(layer_name(family.gate, i), I, H), i_begin, i_end);
    LinearWeight up = shard_rows(loader.linear(layer_name(family.up, i), I, H), i_begin, i_end);
    l.gate_up = loader.place(fuse({gate, up}, "gate/up"));
    l.down = loader.place(shard_columns(loader.linear(layer_name(family.down, i), H, I), i_begin, i_end, s.rank == 0));
  }
  // Like transformers, more layers than config.json names are a warning (the output will not be the model's).
  if (source.contains(layer_name(family.attn_norm, c.num_hidden_layers)) && s.rank == 0) {
    TLM_LOG_WARNING("{}: the checkpoint has layers past num_hidden_layers = {} in config.json; they are not used",
                    source.dir().string(), c.num_hidden_layers);
  }
  if (const std::vector<std::string> unused = loader.unused(); !unused.empty() && s.rank == 0) {
    constexpr size_t kNamed = 5;
    const std::vector<std::string> named(unused.begin(), unused.begin() + std::min(unused.size(), kNamed));
    TLM_LOG_WARNING("{}: {} tensor(s) of the checkpoint are not used by {}: {}{}", source.dir().string(), unused.size(),
                    c.architecture, fmt::join(named, ", "),
                    unused.size() > kNamed ? fmt::format(" and {} more", unused.size() - kNamed) : "");
  }
  return w;
}

}  // namespace turbolm
