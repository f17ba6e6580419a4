#include "server/reasoning.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <utility>

#include "core/error.h"
#include "server/partial_tag.h"

namespace turbolm::server {
namespace {

constexpr std::string_view kOpenTag = "<think>";
constexpr std::string_view kCloseTag = "</think>";
constexpr std::string_view kWhitespace = " \t\r\n";

// Every --reasoning-parser name and its parser.
constexpr std::pair<std::string_view, ReasoningParser> kParsers[] = {{"default", ReasoningParser::kOpened},
                                                                     {"deepseek-r1", ReasoningParser::kOpened},
                                                                     {"qwen-qwq", ReasoningParser::kOpened},
                                                                     {"intern-s1", ReasoningParser::kOpened},
                                                                     {"qwen3", ReasoningParser::kTagged}};

}  // namespace

const std::vector<std::string>& reasoning_parser_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, parser] : kParsers) out.emplace_back(name);
    return out;
  }();
  return names;
}

std::vector<std::string_view> reasoning_markers(ReasoningParser parser) {
  if (parser == ReasoningParser::kNone) return {};
  return {kOpenTag, kCloseTag};
}

ReasoningParser reasoning_parser_from_name(std::string_view name) {
  for (const auto& [known, parser] : kParsers) {
    if (name == known) return parser;
  }
  TLM_FAIL(kInvalidArgument) << "unknown reasoning parser '" << name
                             << "' (known: " << fmt::format("{}", fmt::join(reasoning_parser_names(), ", ")) << ")";
}

ReasoningExtractor::ReasoningExtractor(ReasoningParser parser)
    : parser_(parser), state_(parser == ReasoningParser::kNone ? State::kContent : State::kStart) {}

ReasoningExtractor::Piece ReasoningExtractor::feed(std::string_view text) {
  Piece out;
  pending_ += text;
  while (true) {
    switch (state_) {
      case State::kStart: {  // up to the first non-blank text: is it <think>?
        const size_t begin = pending_.find_first_not_of(kWhitespace);
        if (begin == std::string::npos) return out;
        const std::string_view start = std::string_view(pending_).substr(begin);
        if (start.starts_with(kOpenTag)) {
          pending_.erase(0, begin + kOpenTag.size());
          state_ = State::kReasoning;
        } else if (kOpenTag.starts_with(start)) {
          return out;  // "<thi": not decided yet
        } else {
          state_ = parser_ == ReasoningParser::kOpened ? State::kReasoning : State::kContent;
        }
        break;
      }
      case State::kReasoning: {
        const size_t close = pending_.find(kCloseTag);
        if (close == std::string::npos) {
          out.reasoning += take_all_but_partial_tag(pending_, kCloseTag);
          return out;
        }
        out.reasoning += pending_.substr(0, close);
        pending_.erase(0, close + kCloseTag.size());
        state_ = State::kAfterReasoning;
        break;
      }
      case State::kAfterReasoning: {  // the blank lines between </think> and the answer
        const size_t begin = pending_.find_first_not_of(kWhitespace);
        if (begin == std::string::npos) {
          pending_.clear();
          return out;
        }
        pending_.erase(0, begin);
        state_ = State::kContent;
        break;
      }
      case State::kContent:
        out.content += pending_;
        pending_.clear();
        return out;
    }
  }
}

ReasoningExtractor::Piece ReasoningExtractor::finish() {
  Piece out;
  if (state_ == State::kReasoning || (state_ == State::kStart && parser_ == ReasoningParser::kOpened)) {
    out.reasoning = std::move(pending_);
  } else if (state_ != State::kAfterReasoning) {
    out.content = std::move(pending_);
  }
  pending_.clear();
  state_ = State::kContent;
  return out;
}

}  // namespace turbolm::server
