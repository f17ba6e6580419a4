// Reads a JSON file with errors that name it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace turbolm {

// Throws kNotFound when the file does not exist, kInvalidArgument when it cannot be read or is not valid JSON.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace turbolm
