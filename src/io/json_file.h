// Reads the JSON and other files a model folder holds, with errors that name them.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.h"

namespace turbolm {

// The deepest nesting accepted in the JSON files and texts we read (model configs, safetensors headers, tokenizer
// and chat template files): far more than any real file has, and few enough that parsing, copying or printing a
// value (each recursive per level) cannot exhaust a thread's stack.
inline constexpr int kMaxJsonDepth = 256;

// Whether a parser callback's event opens a value nested deeper than kMaxJsonDepth.
inline bool opens_too_deep(int depth, nlohmann::json::parse_event_t event) {
  return depth >= kMaxJsonDepth &&
         (event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start);
}

// The whole of a regular file. kNotFound when it does not exist (or is a dangling link); kInvalidArgument, with
// the reason, when it is a directory, a pipe or a device (which could block or never end) or cannot be read.
std::string read_regular_file(const std::filesystem::path& path);

// Throws kNotFound naming `path` and its target when `path` is a link to nothing (what a Hugging Face cache whose
// blob never finished downloading leaves); returns otherwise.
void throw_if_dangling_link(const std::filesystem::path& path);

// Parses `text` as JSON (Json: nlohmann::json or nlohmann::ordered_json), refusing nesting deeper than
// kMaxJsonDepth. Throws kInvalidArgument naming `what`.
template <typename Json>
Json parse_json_text(std::string_view text, std::string_view what) {
  auto limit_depth = [&](int depth, nlohmann::json::parse_event_t event, Json&) {
    if (opens_too_deep(depth, event))
      TLM_FAIL(kInvalidArgument) << what << ": JSON nested deeper than " << kMaxJsonDepth << " levels";
    return true;
  };
  try {
    return Json::parse(text, limit_depth);
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL(kInvalidArgument) << what << ": invalid JSON: " << e.what();
  }
}

// read_regular_file + parse_json_text<nlohmann::json>.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace turbolm
