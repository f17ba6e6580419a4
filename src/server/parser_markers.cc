#include "server/parser_markers.h"

#include <fmt/format.h>

#include "server/reasoning.h"
#include "server/tool_calls.h"

namespace turbolm::server {

std::vector<std::string> parser_marker_warnings(const Engine& engine, const ServerConfig& config) {
  std::vector<std::string> warnings;
  if (!engine.info().has_tokenizer) return warnings;
  auto check = [&](const char* flag, const std::vector<std::string_view>& markers) {
    for (std::string_view marker : markers) {
      const size_t tokens = engine.encode(marker, /*add_special_tokens=*/false).size();
      if (tokens == 1) continue;
      warnings.push_back(fmt::format(
          "{}: this model's tokenizer has no {} token (it encodes to {} tokens): models that write this format have "
          "one, so the parser probably does not match the model",
          flag, marker, tokens));
    }
  };
  check("--tool-call-parser", tool_call_markers(config.tool_call_parser));
  check("--reasoning-parser", reasoning_markers(config.reasoning_parser));
  return warnings;
}

}  // namespace turbolm::server
