// The length check bench latency and bench throughput share: bench latency ran --input-len 2000 on a model of 512
// positions while bench throughput refused it.
#include "cli/bench_lengths.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace turbolm::cli {
namespace {

TEST(BenchLengths, AcceptsASequenceThatFits) {
  EXPECT_NO_THROW(check_bench_lengths(384, 128, 512, "session_len 512"));
  EXPECT_NO_THROW(check_bench_lengths(1, 1, 2, "session_len 2"));
}

TEST(BenchLengths, RefusesALongerOneNamingTheLimit) {
  try {
    check_bench_lengths(2000, 128, 512, "the model's 512 positions (max_position_embeddings)");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_STREQ(e.what(),
                 "--input-len 2000 + --output-len 128 = 2128 tokens do not fit in the model's 512 positions "
                 "(max_position_embeddings)");
  }
  EXPECT_THROW(check_bench_lengths(385, 128, 512, "session_len 512"), Error);
}

}  // namespace
}  // namespace turbolm::cli
