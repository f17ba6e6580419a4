// A whole file's bytes in memory, read-only: mapped (MAP_PRIVATE, pages come from the page cache on demand), or
// read into anonymous memory backed by transparent huge pages. Released when the last owner lets go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

namespace turbolm {

enum class FileAccess {
  kMap,   // mmap: instant, shares the page cache; right when the bytes are copied elsewhere (GPU upload)
  kRead,  // read into huge-page memory: CPU kernels stream weights from it ~1.5x faster (no 4 KiB-page TLB walks,
          // hardware prefetchers run across 2 MiB pages), at the cost of reading the file at load
};

class MappedFile {
 public:
  // Throws kNotFound when the file does not exist, kInvalidArgument when it cannot be opened, mapped or read.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path,
                                                FileAccess access = FileAccess::kMap);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Asks the kernel to read [offset, offset + length) ahead of use; a hint, never fails.
  void prefetch(size_t offset, size_t length) const;

 private:
  MappedFile(const uint8_t* data, size_t size, void* region, size_t region_size)
      : data_(data), size_(size), region_(region), region_size_(region_size) {}

  const uint8_t* data_;
  size_t size_;
  void* region_;  // what munmap releases (the data may start inside it, at a huge-page boundary)
  size_t region_size_;
};

}  // namespace turbolm
