// Safetensors files (https://github.com/huggingface/safetensors): header parsing with full validation, and
// read-only memory-mapped files whose tensors are zero-copy CPU views.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "io/mapped_file.h"

namespace turbolm {

struct SafetensorsTensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
  uint64_t begin = 0;  // byte offsets relative to the data section (after the header)
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsTensorInfo> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data section starts in the file: 8 + header length
};

// Largest header accepted (the reference implementation's limit): a bigger length field means a corrupt file.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

// Parses and validates a whole file image: header length, JSON, dtype names, shapes, offsets inside the data
// section, no overlapping tensors, shape x dtype bytes == end - begin, `__metadata__` as a string map.
// Pure (no I/O); throws Error(kInvalidArgument) naming `file_name` and the tensor. Used by the fuzzer.
SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file_bytes, std::string_view file_name);

// One memory-mapped safetensors file (read-only, MAP_PRIVATE).
class SafetensorsFile {
 public:
  // Throws kNotFound when the file does not exist, kInvalidArgument when it is not valid safetensors.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path, FileAccess access = FileAccess::kMap);

  const std::vector<SafetensorsTensorInfo>& tensors() const { return header_.tensors; }
  const SafetensorsTensorInfo* find(std::string_view name) const;  // null when absent
  // Zero-copy CPU view of the mapped bytes; the tensor keeps the mapping alive. Do not write through it: the
  // pages are mapped read-only. Throws kNotFound naming the tensor and the file.
  Tensor tensor(std::string_view name) const;
  Tensor tensor(const SafetensorsTensorInfo& info) const;
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const std::filesystem::path& path() const { return path_; }
  uint64_t file_size() const;

 private:
  SafetensorsFile(std::filesystem::path path, std::shared_ptr<const MappedFile> mapping, SafetensorsHeader header);

  std::filesystem::path path_;
  std::shared_ptr<const MappedFile> mapping_;
  SafetensorsHeader header_;
};

}  // namespace turbolm
