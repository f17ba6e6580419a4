// Every case in tests/data/chat/jinja_cases.json (made by tools/chat_make_fixtures.py with Python
// jinja2 as transformers configures it) renders to the same bytes, or fails where Python failed.
#include <gtest/gtest.h>

#include "chat/jinja/template.h"
#include "core/error.h"
#include "test_util.h"

namespace turbolm {
namespace {

class JinjaConformance : public ::testing::TestWithParam<nlohmann::ordered_json> {};

TEST_P(JinjaConformance, MatchesPythonJinja2) {
  const auto& c = GetParam();
  const std::string source = c["template"].get<std::string>();
  if (c.contains("output")) {
    std::string out = jinja::Template::parse(source).render(c["context"], testing::fixed_clock_options());
    EXPECT_EQ(out, c["output"].get<std::string>()) << "template: " << source;
  } else {
    try {
      std::string out = jinja::Template::parse(source).render(c["context"], testing::fixed_clock_options());
      ADD_FAILURE() << "expected an error like Python's " << c["type"] << ": " << c["error"] << "\ngot output: " << out;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      // raise_exception messages pass through unchanged; other messages carry our position prefix.
      if (c["type"] == "TemplateError") {
        EXPECT_EQ(std::string(e.what()), c["error"].get<std::string>());
      }
    }
  }
}

std::vector<nlohmann::ordered_json> load_cases() {
  std::vector<nlohmann::ordered_json> out;
  for (const auto& c : testing::read_json(testing::chat_data_dir() / "jinja_cases.json")) out.push_back(c);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, JinjaConformance, ::testing::ValuesIn(load_cases()),
                         [](const auto& info) { return info.param["name"].template get<std::string>(); });

}  // namespace
}  // namespace turbolm
