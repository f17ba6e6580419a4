// Value checks for CLI flags. CLI11's NonNegativeNumber / PositiveNumber state their range as two 300-digit
// doubles ("Value -1 not in range 0.000000 to 1797693..."); these say what the flag needs.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <stdexcept>
#include <string>

namespace turbolm::cli {

namespace detail {
// A validator accepting numbers v with v > 0 (strictly) or v >= 0.
inline CLI::Validator number_at_least_zero(bool strictly, const char* label) {
  return CLI::Validator(
      [strictly](std::string& text) -> std::string {
        double value = 0.0;
        size_t used = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || std::isnan(value)) return "'" + text + "' is not a number";
        if (strictly ? value <= 0.0 : value < 0.0)
          return std::string("must be ") + (strictly ? "> 0" : ">= 0") + ", got " + text;
        return "";
      },
      label);
}
}  // namespace detail

// For ->check(): the flag's value is an integer in [0, 2^64) (seeds: CLI11 would saturate larger ones silently).
inline CLI::Validator uint64_value() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
          return "must be an integer >= 0, got '" + text + "'";
        try {
          (void)std::stoull(text);
        } catch (const std::out_of_range&) {
          return "must be below 2^64, got " + text;
        }
        return "";
      },
      "");  // the option's type name says it
}

// For ->check(): the flag's value is a number >= 0.
inline CLI::Validator non_negative() { return detail::number_at_least_zero(false, "NONNEGATIVE"); }
// For ->check(): the flag's value is a number > 0.
inline CLI::Validator positive() { return detail::number_at_least_zero(true, "POSITIVE"); }

// For ->check(): the value is not empty; `why` says what an empty one would do (e.g. an empty API key makes the
// server answer 401 to every request).
inline CLI::Validator non_empty(std::string why) {
  return CLI::Validator(
      [why](std::string& text) -> std::string { return text.empty() ? "must not be empty: " + why : ""; }, "");
}

}  // namespace turbolm::cli
