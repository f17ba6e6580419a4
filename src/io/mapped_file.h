// A whole file mapped read-only into memory (MAP_PRIVATE); unmapped when the last owner lets go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

namespace turbolm {

class MappedFile {
 public:
  // Throws kNotFound when the file does not exist, kInvalidArgument when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Asks the kernel to read [offset, offset + length) ahead of use; a hint, never fails.
  void prefetch(size_t offset, size_t length) const;

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  const uint8_t* data_;
  size_t size_;
};

}  // namespace turbolm
