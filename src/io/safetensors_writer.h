// Writes safetensors files (tests, tools, quantizers that save their output).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace turbolm {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The complete file image: header (padded with spaces to 8 bytes so every tensor stays aligned) + data, in the
// given order. Tensors must be contiguous CPU tensors with unique names; throws kInvalidArgument otherwise.
std::vector<uint8_t> serialize_safetensors(const NamedTensors& tensors,
                                           const std::map<std::string, std::string>& metadata = {});
// serialize_safetensors() written to `path` (replaced if it exists).
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace turbolm
