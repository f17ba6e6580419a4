#include "io/safetensors_writer.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace turbolm {
namespace {

// The 8-byte length and the JSON header, padded with spaces (valid JSON whitespace) so the data section, and with
// it every tensor, is 8-byte aligned. `data_bytes` receives the size of the data section.
std::string encode_header(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                          uint64_t& data_bytes) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string_view> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    TLM_CHECK_ARG(name != "__metadata__") << "write_safetensors: '__metadata__' is reserved, not a tensor name";
    TLM_CHECK_ARG(names.insert(name).second) << "write_safetensors: duplicate tensor name '" << name << "'";
    TLM_CHECK_ARG(t.defined() && t.device().is_cpu() && t.is_contiguous())
        << "write_safetensors: tensor '" << name << "' must be a contiguous CPU tensor, got " << t.to_string();
    TLM_CHECK_ARG(t.dtype() != DType::kU4 && t.dtype() != DType::kI4)
        << "write_safetensors: tensor '" << name << "': safetensors has no 4-bit dtype; store packed bytes as U8";
    header[name] = {{"dtype", dtype_safetensors_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(static_cast<uint64_t>(json.size()) >> (8 * i));
  data_bytes = offset;
  return out + json;
}

}  // namespace

std::vector<uint8_t> serialize_safetensors(const NamedTensors& tensors,
                                           const std::map<std::string, std::string>& metadata) {
  uint64_t data_bytes = 0;
  const std::string header = encode_header(tensors, metadata, data_bytes);
  std::vector<uint8_t> out(header.begin(), header.end());
  out.reserve(header.size() + data_bytes);
  for (const auto& [name, t] : tensors) {
    const auto* p = static_cast<const uint8_t*>(t.data());
    out.insert(out.end(), p, p + t.nbytes());
  }
  return out;
}

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  uint64_t data_bytes = 0;
  const std::string header = encode_header(tensors, metadata, data_bytes);
  // Streamed tensor by tensor: a quantizer's output can be larger than the memory left for a second copy.
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) TLM_FAIL(kInvalidArgument) << path.string() << ": cannot open for writing";
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const auto& [name, t] : tensors)
    out.write(static_cast<const char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
  out.close();
  if (!out) TLM_FAIL(kInvalidArgument) << path.string() << ": write failed";
}

}  // namespace turbolm
