#include "server/bench_stats.h"

#include <gtest/gtest.h>

#include "server/load_generator.h"
#include "turbolm/error.h"

namespace turbolm::server {
namespace {

TEST(BenchStats, VllmDefinitions) {
  RequestResult a{true, "", 10, 5, 0.1, 0.5, {0.1, 0.1, 0.1, 0.1}};
  RequestResult b{true, "", 20, 1, 0.3, 0.3, {}};
  RequestResult failed{false, "boom", 0, 0, 0, 0, {}};
  BenchSummary s = BenchSummary::compute({a, b, failed}, 2.0);
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.total_input_tokens, 30);
  EXPECT_EQ(s.total_output_tokens, 6);
  EXPECT_DOUBLE_EQ(s.request_throughput, 1.0);
  EXPECT_DOUBLE_EQ(s.output_throughput, 3.0);
  EXPECT_DOUBLE_EQ(s.total_token_throughput, 18.0);
  EXPECT_NEAR(s.ttft_ms.mean, 200.0, 1e-9);
  // TPOT only for requests with more than one output token: (0.5 - 0.1) / 4.
  EXPECT_NEAR(s.tpot_ms.mean, 100.0, 1e-9);
  EXPECT_NEAR(s.itl_ms.median, 100.0, 1e-9);
  EXPECT_NEAR(s.e2el_ms.p99, 300.0 + 0.99 * 200.0, 1e-9);  // numpy.percentile linear interpolation
  EXPECT_NE(s.format().find("Mean TTFT (ms):"), std::string::npos);
  EXPECT_EQ(s.to_json()["completed"], 2);
}

TEST(BenchStats, EmptyDistributionIsZero) {
  Distribution d = Distribution::of({});
  EXPECT_EQ(d.mean, 0);
  EXPECT_EQ(d.p99, 0);
}

TEST(LoadGenerator, BaseUrlAndRandomPrompts) {
  std::string host;
  uint16_t port = 0;
  parse_base_url("http://localhost:8000/", host, port);
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8000);
  EXPECT_THROW(parse_base_url("https://x:1", host, port), Error);
  EXPECT_THROW(parse_base_url("http://x:99999", host, port), Error);
  auto prompts = random_prompts(8, 10, 20, 0.5, 1);
  ASSERT_EQ(prompts.size(), 8u);
  for (const auto& p : prompts) {
    EXPECT_GE(p.max_tokens, 10);
    EXPECT_LE(p.max_tokens, 20);
    EXPECT_FALSE(p.text.empty());
  }
  EXPECT_EQ(random_prompts(8, 10, 20, 0.5, 1)[3].text, prompts[3].text);  // seeded
}

}  // namespace
}  // namespace turbolm::server
