#include "server/metrics.h"

#include <gtest/gtest.h>

#include "server/request_registry.h"

namespace turbolm::server {
namespace {

TEST(Histogram, CumulativeBuckets) {
  Histogram h({0.1, 1.0});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5.0);
  std::string out;
  h.render(out, "x");
  EXPECT_NE(out.find("x_bucket{le=\"0.1\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_bucket{le=\"1\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_count 3\n"), std::string::npos) << out;
}

TEST(Metrics, RendersRequestsTokensAndEngineGauges) {
  Metrics m;
  m.record_http("/v1/chat/completions", 200);
  m.record_http("/v1/chat/completions", 200);
  m.record_request({"stop", 10, 5, 0.2, 1.0});
  EngineStats s;
  s.running = 3;
  s.waiting = 1;
  s.kv_blocks_total = 100;
  s.kv_blocks_used = 25;
  s.prefix_cache_queried_tokens = 10;
  s.prefix_cache_hit_tokens = 4;
  std::string text = m.render(s);
  for (const char* line :
       {"turbolm:http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2",
        "turbolm:request_success_total{finished_reason=\"stop\"} 1", "turbolm:prompt_tokens_total 10",
        "turbolm:generation_tokens_total 5", "turbolm:time_to_first_token_seconds_count 1",
        "turbolm:time_per_output_token_seconds_sum 0.2", "turbolm:num_requests_running 3",
        "turbolm:num_requests_waiting 1", "turbolm:kv_cache_usage_perc 0.25", "turbolm:kv_cache_blocks_used 25",
        "turbolm:prefix_cache_hit_rate 0.4"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

class CountingHandle : public RequestHandle {
 public:
  uint64_t id() const override { return 0; }
  void cancel() override { ++cancels; }
  int cancels = 0;
};

TEST(RequestRegistry, AbortBySessionAndAll) {
  RequestRegistry r;
  auto a = std::make_shared<CountingHandle>(), b = std::make_shared<CountingHandle>();
  uint64_t ka = r.add(7, a);
  r.add(std::nullopt, b);
  EXPECT_EQ(r.abort_session(7), 1);
  EXPECT_EQ(a->cancels, 1);
  EXPECT_EQ(r.abort_session(8), 0);
  EXPECT_EQ(r.abort_all(), 2);
  r.remove(ka);
  EXPECT_EQ(r.size(), 1u);
}

}  // namespace
}  // namespace turbolm::server
