#include "io/json_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace turbolm {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) TLM_FAIL(kNotFound) << path.string() << ": no such file";
  if (std::filesystem::is_directory(path, ec)) TLM_FAIL(kInvalidArgument) << path.string() << ": is a directory";
  std::ifstream in(path, std::ios::binary);
  if (!in) TLM_FAIL(kInvalidArgument) << path.string() << ": cannot open for reading";
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) TLM_FAIL(kInvalidArgument) << path.string() << ": read error";
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL(kInvalidArgument) << path.string() << ": invalid JSON: " << e.what();
  }
}

}  // namespace turbolm
