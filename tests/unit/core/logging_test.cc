#include "core/logging.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace turbolm {
namespace {

TEST(Logging, ParsesLevels) {
  EXPECT_EQ(parse_log_level("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(parse_log_level("warn"), LogLevel::kWarning);
  EXPECT_THROW(parse_log_level("loud"), Error);
}

TEST(Logging, LevelFiltersMessages) {
  LogLevel saved = log_level();
  set_log_level(LogLevel::kError);
  int evaluated = 0;
  auto arg = [&] { return ++evaluated; };
  TLM_LOG_INFO("not printed {}", arg());
  EXPECT_EQ(evaluated, 0);
  testing::internal::CaptureStderr();
  TLM_LOG_ERROR("printed {}", 42);
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("printed 42"), std::string::npos);
  EXPECT_NE(out.find("logging_test.cc"), std::string::npos);
  set_log_level(saved);
}

}  // namespace
}  // namespace turbolm
