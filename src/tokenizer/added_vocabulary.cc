#include "tokenizer/added_vocabulary.h"

#include <algorithm>
#include <array>

#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

namespace turbolm {

// Byte trie over token contents; finds the longest token starting at a position.
struct AddedVocabulary::Trie {
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t token = -1;  // index into tokens_
  };
  std::vector<Node> nodes{Node{}};
  std::array<bool, 256> first_byte{};

  void insert(std::string_view key, int32_t token) {
    if (key.empty()) return;
    first_byte[static_cast<unsigned char>(key[0])] = true;
    int32_t node = 0;
    for (unsigned char c : key) {
      auto& children = nodes[node].children;
      auto it = std::find_if(children.begin(), children.end(), [c](const auto& p) { return p.first == c; });
      if (it == children.end()) {
        nodes.push_back(Node{});
        const auto next = static_cast<int32_t>(nodes.size() - 1);
        nodes[node].children.emplace_back(c, next);
        node = next;
      } else {
        node = it->second;
      }
    }
    if (nodes[node].token < 0) nodes[node].token = token;
  }
  // (length, token index) of the longest key at text[pos], or (0, -1).
  std::pair<size_t, int32_t> longest(std::string_view text, size_t pos) const {
    std::pair<size_t, int32_t> best{0, -1};
    int32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      const auto& children = nodes[node].children;
      auto it = std::find_if(children.begin(), children.end(), [c](const auto& p) { return p.first == c; });
      if (it == children.end()) break;
      node = it->second;
      if (nodes[node].token >= 0) best = {i + 1 - pos, nodes[node].token};
    }
    return best;
  }
};

AddedVocabulary::AddedVocabulary() = default;
AddedVocabulary::~AddedVocabulary() = default;
AddedVocabulary::AddedVocabulary(AddedVocabulary&&) noexcept = default;
AddedVocabulary& AddedVocabulary::operator=(AddedVocabulary&&) noexcept = default;

void AddedVocabulary::add(AddedToken token) {
  if (by_id_.count(token.id)) return;
  by_id_[token.id] = tokens_.size();
  by_content_.emplace(token.content, tokens_.size());
  tokens_.push_back(std::move(token));
}

void AddedVocabulary::build(const Normalizer* normalizer) {
  raw_trie_ = std::make_unique<Trie>();
  normalized_trie_ = std::make_unique<Trie>();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const auto& t = tokens_[i];
    if (t.normalized && normalizer) {
      std::string key = t.content;
      normalizer->normalize(key);
      normalized_trie_->insert(key, static_cast<int32_t>(i));
    } else if (t.normalized) {
      normalized_trie_->insert(t.content, static_cast<int32_t>(i));
    } else {
      raw_trie_->insert(t.content, static_cast<int32_t>(i));
    }
  }
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

namespace {

bool is_word_char(char32_t c) { return unicode::is_alphanumeric(c) || c == '_'; }

char32_t last_char(std::string_view s) {
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return unicode::next_code_point(s, start);
}

}  // namespace

std::vector<AddedVocabulary::Match> AddedVocabulary::find_matches(std::string_view text, const Trie& trie) const {
  std::vector<Match> matches;
  size_t consumed = 0;  // end of the previous accepted match, including stripped whitespace
  for (size_t pos = 0; pos < text.size();) {
    if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto [len, index] = trie.longest(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t begin = pos, end = pos + len;
    pos = end;  // tokenizers' matcher resumes after the raw match even when the token is rejected
    if (begin < consumed) continue;
    if (token.single_word) {
      size_t after = end;
      const bool left_ok = begin == 0 || !is_word_char(last_char(text.substr(0, begin)));
      const bool right_ok = end == text.size() || !is_word_char(unicode::next_code_point(text, after));
      if (!left_ok || !right_ok) continue;
    }
    if (token.lstrip) {
      while (begin > consumed) {
        size_t start = begin - 1;
        while (start > consumed && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t probe = start;
        if (!unicode::is_whitespace(unicode::next_code_point(text, probe))) break;
        begin = start;
      }
    }
    if (token.rstrip) {
      while (end < text.size()) {
        size_t next = end;
        if (!unicode::is_whitespace(unicode::next_code_point(text, next))) break;
        end = next;
      }
    }
    matches.push_back({begin, end, token.id});
    consumed = end;
  }
  return matches;
}

std::vector<TextPart> AddedVocabulary::split(std::string_view text, const Normalizer* normalizer) const {
  std::vector<TextPart> parts;
  auto add_text = [&](std::string_view raw, bool at_start) {
    std::string normalized(raw);
    if (normalizer) normalizer->normalize(normalized);
    size_t prev = 0;
    for (const auto& m : find_matches(normalized, *normalized_trie_)) {
      if (m.begin > prev) parts.push_back({normalized.substr(prev, m.begin - prev), -1, at_start && prev == 0});
      parts.push_back({std::string(), m.id, false});
      prev = m.end;
    }
    if (prev < normalized.size()) parts.push_back({normalized.substr(prev), -1, at_start && prev == 0});
  };
  size_t prev = 0;
  for (const auto& m : find_matches(text, *raw_trie_)) {
    if (m.begin > prev) add_text(text.substr(prev, m.begin - prev), prev == 0);
    parts.push_back({std::string(), m.id, false});
    prev = m.end;
  }
  if (prev < text.size()) add_text(text.substr(prev), prev == 0);
  return parts;
}

}  // namespace turbolm
