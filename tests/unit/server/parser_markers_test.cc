// The startup check of the output parsers' tags against the model's tokenizer.
#include "server/parser_markers.h"

#include <gtest/gtest.h>

#include "fake_engine.h"

namespace turbolm::server {
namespace {

// The fake engine's tokenizer is byte-level: no tag is one token, so every tag of a configured parser is named.
TEST(ParserMarkers, TagsThatAreNotOneTokenAreNamed) {
  testing::FakeEngine engine;
  ServerConfig config;
  EXPECT_TRUE(parser_marker_warnings(engine, config).empty());  // no parsers: nothing to check
  config.tool_call_parser = ToolCallParser::kHermes;
  config.reasoning_parser = ReasoningParser::kTagged;
  const std::vector<std::string> warnings = parser_marker_warnings(engine, config);
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_NE(warnings[0].find("--tool-call-parser: this model's tokenizer has no <tool_call> token (it encodes to 11 "
                             "tokens)"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("</tool_call>"), std::string::npos);
  EXPECT_NE(warnings[2].find("--reasoning-parser"), std::string::npos);
  EXPECT_NE(warnings[3].find("</think>"), std::string::npos);
  config.tool_call_parser = ToolCallParser::kLlama3Json;  // plain JSON: no tags
  config.reasoning_parser = ReasoningParser::kNone;
  EXPECT_TRUE(parser_marker_warnings(engine, config).empty());
}

}  // namespace
}  // namespace turbolm::server
