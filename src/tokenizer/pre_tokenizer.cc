#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace turbolm {
namespace {

using nlohmann::json;
using Ranges = std::vector<std::pair<size_t, size_t>>;

// GPT-2's word pattern, used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior parse_behavior(const std::string& name) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  TLM_FAIL(kUnsupported) << "tokenizer split behavior '" << name << "' is not supported";
}

// Splits one piece at the given matches (sorted, non-overlapping) the way tokenizers' NormalizedString::split does.
void split_piece(const PreToken& piece, const Ranges& matches, Behavior behavior, bool invert,
                 std::vector<PreToken>& out) {
  const std::string& s = piece.text;
  // (begin, end, is_match) covering the whole piece.
  struct Part {
    size_t begin, end;
    bool match;
  };
  std::vector<Part> parts;
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev < b) parts.push_back({prev, b, invert});
    parts.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < s.size()) parts.push_back({prev, s.size(), invert});

  std::vector<std::pair<size_t, size_t>> pieces;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const auto& p : parts)
        if (!p.match) pieces.emplace_back(p.begin, p.end);
      break;
    case Behavior::kIsolated:
      for (const auto& p : parts) pieces.emplace_back(p.begin, p.end);
      break;
    case Behavior::kContiguous:
      for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].match && i > 0 && parts[i - 1].match) {
          pieces.back().second = parts[i].end;
        } else {
          pieces.emplace_back(parts[i].begin, parts[i].end);
        }
      }
      break;
    case Behavior::kMergedWithPrevious:
      for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].match && !pieces.empty() && !(i > 0 && parts[i - 1].match)) {
          pieces.back().second = parts[i].end;
        } else {
          pieces.emplace_back(parts[i].begin, parts[i].end);
        }
      }
      break;
    case Behavior::kMergedWithNext:
      // A match joins the part after it unless that part is a match too (tokenizers folds from the right).
      for (size_t i = parts.size(); i-- > 0;) {
        const bool next_is_match = i + 1 < parts.size() && parts[i + 1].match;
        if (parts[i].match && !next_is_match && !pieces.empty()) {
          pieces.back().first = parts[i].begin;
        } else {
          pieces.emplace_back(parts[i].begin, parts[i].end);
        }
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
  }
  for (auto [b, e] : pieces)
    if (e > b) out.push_back({s.substr(b, e - b), piece.at_start && b == 0});
}

// Applies fn(piece, out) to each piece.
void for_each_piece(std::vector<PreToken>& pieces, const std::function<void(PreToken&, std::vector<PreToken>&)>& fn) {
  std::vector<PreToken> out;
  out.reserve(pieces.size() * 2);
  for (auto& piece : pieces) fn(piece, out);
  pieces = std::move(out);
}

Ranges char_matches(const std::string& s, const std::function<bool(char32_t)>& pred) {
  Ranges matches;
  for (size_t pos = 0; pos < s.size();) {
    const size_t start = pos;
    if (pred(unicode::next_code_point(s, pos))) matches.emplace_back(start, pos);
  }
  return matches;
}

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(const std::string& regex, Behavior behavior, bool invert)
      : regex_(regex), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    Ranges matches;
    for_each_piece(pieces, [&](PreToken& piece, std::vector<PreToken>& out) {
      matches.clear();
      regex_.find_all(piece.text, matches);
      split_piece(piece, matches, behavior_, invert_, out);
    });
  }

 private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

class CharClassPreTokenizer final : public PreTokenizer {
 public:
  CharClassPreTokenizer(std::function<bool(char32_t)> pred, Behavior behavior)
      : pred_(std::move(pred)), behavior_(behavior) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    for_each_piece(pieces, [&](PreToken& piece, std::vector<PreToken>& out) {
      split_piece(piece, char_matches(piece.text, pred_), behavior_, false, out);
    });
  }

 private:
  std::function<bool(char32_t)> pred_;
  Behavior behavior_;
};

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Regex>(kGpt2Pattern);
  }
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    if (add_prefix_space_)
      for (auto& piece : pieces)
        if (piece.text.empty() || piece.text[0] != ' ') piece.text = " " + piece.text;
    if (regex_) {
      Ranges matches;
      for_each_piece(pieces, [&](PreToken& piece, std::vector<PreToken>& out) {
        matches.clear();
        regex_->find_all(piece.text, matches);
        split_piece(piece, matches, Behavior::kIsolated, false, out);
      });
    }
    const auto& table = unicode::byte_to_unicode_utf8();
    std::string mapped;
    for (auto& piece : pieces) {
      mapped.clear();
      for (unsigned char b : piece.text) mapped += table[b];
      piece.text.swap(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  MetaspacePreTokenizer(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    for_each_piece(pieces, [&](PreToken& piece, std::vector<PreToken>& out) {
      std::string s;
      s.reserve(piece.text.size() + 8);
      for (char c : piece.text) c == ' ' ? s += replacement_ : s += c;
      const bool starts = s.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && piece.at_start)))
        s = replacement_ + s;
      PreToken replaced{std::move(s), piece.at_start};
      if (!split_) {
        if (!replaced.text.empty()) out.push_back(std::move(replaced));
        return;
      }
      Ranges matches;
      for (size_t pos = replaced.text.find(replacement_); pos != std::string::npos;
           pos = replaced.text.find(replacement_, pos + replacement_.size()))
        matches.emplace_back(pos, pos + replacement_.size());
      split_piece(replaced, matches, Behavior::kMergedWithNext, false, out);
    });
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    for (const auto& step : steps_) step->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

std::string split_pattern(const json& pattern) {
  if (pattern.contains("Regex")) return pattern["Regex"].get<std::string>();
  return Regex::escape(pattern.at("String").get<std::string>());
}

}  // namespace

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, use_regex);
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string type = spec.at("type").get<std::string>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto& step : spec.at("pretokenizers"))
      if (auto p = make_pre_tokenizer(step)) steps.push_back(std::move(p));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Split") {
    return std::make_unique<SplitPreTokenizer>(split_pattern(spec.at("pattern")),
                                               parse_behavior(spec.at("behavior").get<std::string>()),
                                               spec.value("invert", false));
  }
  if (type == "ByteLevel")
    return make_byte_level_pre_tokenizer(spec.value("add_prefix_space", true), spec.value("use_regex", true));
  if (type == "Metaspace") {
    using P = MetaspacePreTokenizer::Prepend;
    P prepend = spec.value("add_prefix_space", true) ? P::kAlways : P::kNever;
    if (spec.contains("prepend_scheme")) {
      const std::string scheme = spec["prepend_scheme"].get<std::string>();
      prepend = scheme == "first" ? P::kFirst : scheme == "never" ? P::kNever : P::kAlways;
    }
    return std::make_unique<MetaspacePreTokenizer>(spec.value("replacement", std::string("\u2581")), prepend,
                                                   spec.value("split", true));
  }
  if (type == "Digits") {
    const bool individual = spec.value("individual_digits", false);
    return std::make_unique<CharClassPreTokenizer>(unicode::is_numeric,
                                                   individual ? Behavior::kIsolated : Behavior::kContiguous);
  }
  if (type == "Punctuation") {
    return std::make_unique<CharClassPreTokenizer>(unicode::is_punctuation,
                                                   parse_behavior(spec.value("behavior", std::string("Isolated"))));
  }
  if (type == "Whitespace") return std::make_unique<SplitPreTokenizer>(R"(\w+|[^\w\s]+)", Behavior::kRemoved, true);
  if (type == "WhitespaceSplit")
    return std::make_unique<CharClassPreTokenizer>(unicode::is_whitespace, Behavior::kRemoved);
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    steps.push_back(std::make_unique<CharClassPreTokenizer>(unicode::is_whitespace, Behavior::kRemoved));
    steps.push_back(std::make_unique<CharClassPreTokenizer>(unicode::is_punctuation, Behavior::kIsolated));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  TLM_FAIL(kUnsupported) << "tokenizer pre_tokenizer type '" << type << "' is not supported";
}

}  // namespace turbolm
