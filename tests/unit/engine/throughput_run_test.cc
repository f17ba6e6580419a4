// run_throughput (the measurement behind `turbolm bench throughput` and the GPU engine bench) on a tiny model.
#include "engine/throughput_run.h"

#include <gtest/gtest.h>

#include "engine/llm_engine.h"

namespace turbolm {
namespace {

std::unique_ptr<Engine> tiny_engine(int max_batch_size) {
  EngineConfig config;
  config.device = "cpu";
  config.num_threads = 1;
  config.max_batch_size = max_batch_size;
  config.cache_max_entry_count = 256;
  config.cache_block_seq_len = 8;
  return Engine::create(std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/llama3", config);
}

TEST(ThroughputRun, EveryJobGeneratesItsLengthWithinTheConcurrencyLimit) {
  auto engine = tiny_engine(16);
  std::vector<ThroughputJob> jobs;
  for (int i = 0; i < 7; ++i) jobs.push_back({std::vector<int32_t>(3 + i, 5 + i), 4 + i});
  const ThroughputRun run = run_throughput(*engine, jobs, /*concurrency=*/2, GenerationConfig{});
  EXPECT_EQ(run.failed, 0);
  EXPECT_EQ(run.short_outputs, 0);
  EXPECT_TRUE(run.first_problem.empty());
  int64_t input = 0, output = 0;
  for (const auto& j : jobs) input += static_cast<int64_t>(j.prompt.size()), output += j.output_len;
  EXPECT_EQ(run.input_tokens, input);
  EXPECT_EQ(run.output_tokens, output);  // EOS ignored: exactly output_len each
  EXPECT_EQ(run.ttft_ms.size(), jobs.size());
  EXPECT_EQ(run.tpot_ms.size(), jobs.size());
  EXPECT_LE(run.peak_running, 2);
  EXPECT_GT(run.seconds, 0);
}

TEST(ThroughputRun, OutputsCutBySessionLenAreCountedAndDescribed) {
  EngineConfig config;
  config.device = "cpu";
  config.num_threads = 1;
  config.session_len = 40;
  auto engine = Engine::create(std::string(TURBOLM_SOURCE_DIR) + "/tests/data/models/llama3", config);
  // 30 prompt tokens + 100 wanted: the session ends the request by length after 10.
  const std::vector<ThroughputJob> jobs = {{std::vector<int32_t>(5, 5), 3}, {std::vector<int32_t>(30, 5), 100}};
  const ThroughputRun run = run_throughput(*engine, jobs, 0, GenerationConfig{});
  EXPECT_EQ(run.failed, 0);
  EXPECT_EQ(run.short_outputs, 1);
  EXPECT_EQ(run.output_tokens, 3 + 10);
  EXPECT_EQ(run.first_problem, "finish reason 'length' after 10 of 100 tokens");
}

TEST(ThroughputRun, ReportsProgressOnStderrWithALabel) {
  auto engine = tiny_engine(4);
  const std::vector<ThroughputJob> jobs = {{std::vector<int32_t>(3, 5), 40}, {std::vector<int32_t>(4, 6), 40}};
  testing::internal::CaptureStderr();
  run_throughput(*engine, jobs, 0, GenerationConfig{}, "bench throughput", /*progress_every_s=*/0);
  const std::string progress = testing::internal::GetCapturedStderr();
  EXPECT_NE(progress.find("bench throughput: "), std::string::npos) << progress;
  EXPECT_NE(progress.find(" of 2 finished"), std::string::npos) << progress;

  testing::internal::CaptureStderr();
  run_throughput(*engine, jobs, 0, GenerationConfig{});  // no label: quiet
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(ThroughputRun, RejectedRequestsThrow) {
  auto engine = tiny_engine(4);
  const auto vocab = static_cast<int32_t>(engine->info().vocab_size);
  EXPECT_THROW(run_throughput(*engine, {{{5, vocab}, 3}}, 0, GenerationConfig{}), Error);
}

TEST(ThroughputRun, PercentileIsNearestRank) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({3, 1, 2}, 0), 1);
  EXPECT_EQ(percentile({3, 1, 2}, 50), 2);
  EXPECT_EQ(percentile({3, 1, 2}, 99), 3);
  EXPECT_EQ(percentile({3, 1, 2}, 100), 3);
}

}  // namespace
}  // namespace turbolm
