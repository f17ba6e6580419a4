#include "core/error.h"

#include <gtest/gtest.h>

namespace turbolm {
namespace {

TEST(Error, FailCarriesCodeAndMessage) {
  try {
    TLM_FAIL(kNotFound) << "no tensor "
                        << "lm_head.weight";
    FAIL() << "did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_STREQ(e.what(), "no tensor lm_head.weight");
  }
}

TEST(Error, CheckPassesWithoutEvaluatingMessage) {
  int evaluated = 0;
  auto side_effect = [&] { return ++evaluated; };
  TLM_CHECK(1 + 1 == 2) << side_effect();
  EXPECT_EQ(evaluated, 0);
}

TEST(Error, CheckFailureIsInternalWithLocation) {
  try {
    TLM_CHECK(2 < 1) << "context";
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    std::string what = e.what();
    EXPECT_NE(what.find("error_test.cc"), std::string::npos) << what;
    EXPECT_NE(what.find("2 < 1"), std::string::npos) << what;
    EXPECT_NE(what.find("context"), std::string::npos) << what;
  }
}

TEST(Error, CheckOpPrintsBothOperands) {
  int a = 3, b = 4;
  try {
    TLM_CHECK_EQ(a, b) << "sizes";
    FAIL();
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("(3 vs. 4)"), std::string::npos) << what;
  }
  EXPECT_NO_THROW(TLM_CHECK_LE(a, b));
}

TEST(Error, CheckArgIsInvalidArgumentWithoutLocation) {
  try {
    TLM_CHECK_ARG(false) << "max_tokens must be positive";
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_STREQ(e.what(), "max_tokens must be positive");
  }
}

TEST(Error, CodeNames) { EXPECT_EQ(error_code_name(ErrorCode::kOutOfMemory), "OutOfMemory"); }

}  // namespace
}  // namespace turbolm
