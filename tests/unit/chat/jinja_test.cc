// Engine behaviour the Python fixtures cannot show: error positions, hostile templates hitting the
// limits, and the fixed clock.
#include <gtest/gtest.h>

#include "chat/jinja/template.h"
#include "core/error.h"
#include "test_util.h"

namespace turbolm {
namespace {

std::string render(std::string_view source, const nlohmann::json& context = nlohmann::json::object(),
                   const jinja::RenderOptions& options = {}) {
  return jinja::Template::parse(source).render(context, options);
}

std::string error_of(std::string_view source, const jinja::RenderOptions& options = {}) {
  try {
    std::string out = render(source, nlohmann::json::object(), options);
    return "no error, output: " + out.substr(0, 100);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
}

TEST(Jinja, SyntaxErrorsCarryLineAndColumn) {
  EXPECT_EQ(error_of("line one\n  {{ 1 + }}"), "template syntax error at 2:10: unexpected end of print statement");
  EXPECT_EQ(error_of("{% if x %}\n{% endfor %}"), "template syntax error at 2:4: Encountered unknown tag 'endfor'.");
  EXPECT_EQ(error_of("ab\n{% frob %}"), "template syntax error at 2:4: Encountered unknown tag 'frob'.");
  EXPECT_EQ(error_of("{{ 'open"), "template syntax error at 1:4: unexpected end of string");
  EXPECT_EQ(error_of("{# never closed"), "template syntax error at 1:1: Missing end of comment tag");
  EXPECT_EQ(error_of("{% for x in y %}{% endfor %}{% break %}"),
            "template syntax error at 1:32: 'break' outside of a loop");
  EXPECT_EQ(error_of("{% include 'x.jinja' %}"),
            "template syntax error at 1:4: 'include' is not supported: chat templates have no file access");
}

TEST(Jinja, RuntimeErrorsCarryPosition) {
  EXPECT_EQ(error_of("\n\n  {{ messages.role }}"), "template error at 3:14: 'messages' is undefined");
  EXPECT_EQ(error_of("{{ raise_exception('exact message') }}"), "exact message");
}

TEST(Jinja, InfiniteRecursionStops) {
  EXPECT_EQ(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"),
            "template error at 1:20: maximum macro call depth exceeded (64)");
}

TEST(Jinja, HugeLoopsStop) {
  jinja::RenderOptions options;
  options.limits.max_loop_iterations = 10'000;
  std::string e = error_of("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", options);
  EXPECT_NE(e.find("loop iteration limit exceeded (10000)"), std::string::npos) << e;
  // The default limit also ends nested loops long before they would finish (10^10 iterations).
  e = error_of("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}");
  EXPECT_NE(e.find("loop iteration limit exceeded"), std::string::npos) << e;
}

TEST(Jinja, OutputSizeIsBounded) {
  jinja::RenderOptions options;
  options.limits.max_output_bytes = 1000;
  EXPECT_NE(error_of("{% for i in range(100) %}0123456789abcdef{% endfor %}", options).find("output size limit"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 100000000000 }}").find("output size limit"), std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                     options)
                .find("output size limit"),
            std::string::npos);
}

// Widths a template gives are checked before the padding is allocated (the jinja fuzzer's indent(2049638230412172397)
// asked for exabytes and aborted the process), and indenting many lines stays bounded too.
TEST(Jinja, HugeWidthsHitTheOutputLimit) {
  for (const char* t :
       {"{{ 'a\nb'|indent(2049638230412172397) }}", "{{ 'a\nb'|indent(2049638230412172397, first=true) }}",
        "{{ 'a'|center(2049638230412172397) }}", "{{ [1, [2]]|tojson(indent=2049638230412172397) }}"}) {
    const std::string e = error_of(t);
    EXPECT_NE(e.find("output size limit"), std::string::npos) << t << ": " << e;
  }
  jinja::RenderOptions options;
  options.limits.max_output_bytes = 1000;
  const std::string e = error_of("{{ ('a\n' * 400)|indent(100) }}", options);
  EXPECT_NE(e.find("output size limit"), std::string::npos) << e;
  // Ordinary widths are unchanged.
  EXPECT_EQ(jinja::Template::parse("{{ 'a\nb'|indent(2) }}|{{ 'ab'|center(6) }}|{{ [1]|tojson(indent=1) }}")
                .render(nlohmann::json::object()),
            "a\n  b|  ab  |[\n 1\n]");
}

TEST(Jinja, DeepNestingIsRefusedAtParse) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(error_of(deep).find("nesting too deep"), std::string::npos);
  std::string ifs;
  for (int i = 0; i < 1000; ++i) ifs += "{% if true %}";
  EXPECT_NE(error_of(ifs).find("nesting too deep"), std::string::npos);
  std::string nots = "{{ " + [] {
    std::string s;
    for (int i = 0; i < 5000; ++i) s += "not ";
    return s;
  }() + "1 }}";
  EXPECT_NE(error_of(nots).find("nesting too deep"), std::string::npos);
}

TEST(Jinja, DeepDataAndNamespaceCyclesAreRefused) {
  // Printing, comparing and freeing nested data recurse, so nesting built at run time is capped too.
  EXPECT_NE(error_of("{% set ns = namespace(l=[]) %}{% for i in range(5000) %}{% set ns.l = [ns.l] %}{% endfor %}"
                     "{{ ns.l }}")
                .find("nested deeper than 256 levels"),
            std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns }}").find("cannot hold another namespace"),
            std::string::npos);
  // Doubling a list in a loop is loop work and hits the iteration limit, not the memory.
  EXPECT_NE(error_of("{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = ns.l + ns.l %}{% endfor %}")
                .find("loop iteration limit exceeded"),
            std::string::npos);
  // Input data deeper than the cap is refused up front.
  auto deep = nlohmann::json::parse(std::string(300, '[') + std::string(300, ']'));
  EXPECT_THROW(jinja::Template::parse("{{ x }}").render(nlohmann::json{{"x", deep}}), Error);
}

TEST(Jinja, IntegerOverflowIsAnError) {
  EXPECT_NE(error_of("{{ 2 ** 70 }}").find("integer overflow"), std::string::npos);
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("integer overflow"), std::string::npos);
  EXPECT_EQ(render("{{ 1 ** 1000000000000 }}"), "1");
}

TEST(Jinja, FixedClock) {
  EXPECT_EQ(render("{{ strftime_now('%d %B %Y') }}", nlohmann::json::object(), testing::fixed_clock_options()),
            "14 March 2025");
  EXPECT_EQ(render("{{ strftime_now('%Y')|length }}"), "4");  // the real clock
}

TEST(Jinja, ContextKeyOrderIsKept) {
  auto ctx = nlohmann::ordered_json::parse(R"({"d": {"zeta": 1, "alpha": 2}})");
  EXPECT_EQ(jinja::Template::parse("{{ d|tojson }}").render(ctx), R"({"zeta": 1, "alpha": 2})");
}

TEST(Jinja, TemplateIsReusable) {
  auto t = jinja::Template::parse("{% set x = n * 2 %}{{ x }}");
  EXPECT_EQ(t.render(nlohmann::json{{"n", 2}}), "4");
  EXPECT_EQ(t.render(nlohmann::json{{"n", 5}}), "10");
}

}  // namespace
}  // namespace turbolm
