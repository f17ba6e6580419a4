#include "io/json_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace turbolm {

void throw_if_dangling_link(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(path, ec)) && !fs::exists(path, ec)) {
    TLM_FAIL(kNotFound) << path.string() << " is a link to a file that does not exist ("
                        << fs::read_symlink(path, ec).string() << "): an incomplete download?";
  }
}

std::string read_regular_file(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    throw_if_dangling_link(path);
    TLM_FAIL(kNotFound) << path.string() << ": no such file";
  }
  if (ec) TLM_FAIL(kInvalidArgument) << path.string() << ": " << ec.message();
  if (status.type() == fs::file_type::directory) TLM_FAIL(kInvalidArgument) << path.string() << ": is a directory";
  if (status.type() != fs::file_type::regular)
    TLM_FAIL(kInvalidArgument) << path.string() << ": not a regular file (a pipe, socket or device)";
  std::ifstream in(path, std::ios::binary);
  if (!in) TLM_FAIL(kInvalidArgument) << path.string() << ": cannot open for reading: " << std::strerror(errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) TLM_FAIL(kInvalidArgument) << path.string() << ": read error";
  return text.str();
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  return parse_json_text<nlohmann::json>(read_regular_file(path), path.string());
}

}  // namespace turbolm
