// Progress lines of long commands (bench latency printed nothing while it ran): on stderr, only when due.
#include "core/progress_line.h"

#include <gtest/gtest.h>

namespace turbolm {
namespace {

TEST(ProgressLine, PrintsADueLineOnStderr) {
  ProgressLine progress("bench latency", /*every_s=*/0);
  testing::internal::CaptureStderr();
  progress.report([] { return std::string("run 1 of 3"); });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "bench latency: run 1 of 3, 0 s\n");
}

TEST(ProgressLine, QuietBeforeTheFirstInterval) {
  ProgressLine progress("bench latency", /*every_s=*/3600);
  bool asked = false;
  testing::internal::CaptureStderr();
  progress.report([&] {
    asked = true;
    return std::string("run 1 of 3");
  });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(asked);  // the text is only made for a line that is printed
}

}  // namespace
}  // namespace turbolm
