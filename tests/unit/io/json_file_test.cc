// Reading a model folder's small files: the errors name the file and say what is wrong with it.
#include "io/json_file.h"

#include <gtest/gtest.h>

#include "io_test_util.h"

namespace turbolm {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_file;

TEST(ReadRegularFile, ReadsTheWholeFile) {
  TempDir dir;
  write_file(dir / "config.json", std::string("{\"a\": 1}\n\0tail", 15));
  EXPECT_EQ(read_regular_file(dir / "config.json"), std::string("{\"a\": 1}\n\0tail", 15));
}

TEST(ReadRegularFile, NamesWhatIsWrong) {
  TempDir dir;
  expect_error([&] { read_regular_file(dir / "config.json"); }, ErrorCode::kNotFound, {"config.json: no such file"});
  expect_error([&] { read_regular_file(dir.path()); }, ErrorCode::kInvalidArgument, {"is a directory"});
  // A Hugging Face cache whose blob never finished downloading leaves a dangling link (also for the weights:
  // WeightSource.DanglingLinkIsNamed): the same message for both.
  std::filesystem::create_symlink(dir / "missing-blob", dir / "tokenizer.json");
  expect_error([&] { read_regular_file(dir / "tokenizer.json"); }, ErrorCode::kNotFound,
               {"tokenizer.json is a link to a file that does not exist", "missing-blob", "an incomplete download?"});
}

TEST(ThrowIfDanglingLink, ReturnsForFilesLinksToFilesAndNothing) {
  TempDir dir;
  write_file(dir / "blob", "x");
  std::filesystem::create_symlink(dir / "blob", dir / "link");
  throw_if_dangling_link(dir / "blob");
  throw_if_dangling_link(dir / "link");
  throw_if_dangling_link(dir / "absent");  // nothing there: the caller's own "no such file" applies
}

}  // namespace
}  // namespace turbolm
