// The warning for completions the session length or the KV pool ended: generate --cache-max-entry-count 1
// --max-new-tokens 100 returned 61 tokens with finish_reason "length" and no word about the pool.
#include "cli/length_limit.h"

#include <gtest/gtest.h>

namespace turbolm::cli {
namespace {

TEST(LengthLimitWarning, NamesTheKvPoolAndItsFlag) {
  EXPECT_EQ(length_limit_warning(FinishReason::kLength, 3, 61, 100, 512, 64),
            "generation stopped after 61 of 100 new tokens: the prompt (3 tokens) and the output reached the KV cache "
            "pool of 64 tokens (raise --cache-max-entry-count)");
}

TEST(LengthLimitWarning, NamesTheSessionLengthAndItsFlag) {
  EXPECT_EQ(length_limit_warning(FinishReason::kLength, 400, 112, 200, 512, 65536),
            "generation stopped after 112 of 200 new tokens: the prompt (400 tokens) and the output reached "
            "session_len 512 (raise --session-len)");
}

TEST(LengthLimitWarning, NothingWhenMaxNewTokensOrAStopEndedIt) {
  EXPECT_EQ(length_limit_warning(FinishReason::kLength, 3, 100, 100, 512, 64), "");
  EXPECT_EQ(length_limit_warning(FinishReason::kStop, 3, 20, 100, 512, 64), "");
  EXPECT_EQ(length_limit_warning(FinishReason::kAbort, 3, 20, 100, 512, 64), "");
}

}  // namespace
}  // namespace turbolm::cli
