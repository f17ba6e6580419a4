#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "core/error.h"

namespace turbolm {
namespace {

// Closes the descriptor on every path; the mapping outlives it.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Anonymous memory whose data starts at a 2 MiB boundary, advised to use transparent huge pages, filled by read().
std::shared_ptr<const MappedFile> read_file(
    int fd, size_t size, const std::filesystem::path& path,
    const std::function<std::shared_ptr<const MappedFile>(const uint8_t*, void*, size_t)>& make) {
  const size_t region_size = size + kHugePage;
  void* region = ::mmap(nullptr, region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) TLM_FAIL(kOutOfMemory) << path.string() << ": cannot allocate " << size << " bytes";
  auto* data =
      reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(region) + kHugePage - 1) / kHugePage * kHugePage);
  ::madvise(data, size, MADV_HUGEPAGE);
  for (size_t done = 0; done < size;) {
    const ssize_t n =
        ::pread(fd, data + done, std::min<size_t>(size - done, size_t{1} << 30), static_cast<off_t>(done));
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::munmap(region, region_size);
      TLM_FAIL(kInvalidArgument) << path.string() << ": cannot read: " << std::strerror(err);
    }
    done += static_cast<size_t>(n);
  }
  ::mprotect(region, region_size, PROT_READ);
  return make(data, region, region_size);
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path, FileAccess access) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) TLM_FAIL(kNotFound) << path.string() << ": no such file";
    TLM_FAIL(kInvalidArgument) << path.string() << ": cannot open: " << std::strerror(err);
  }
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) TLM_FAIL(kInvalidArgument) << path.string() << ": cannot stat: " << std::strerror(errno);
  if (!S_ISREG(st.st_mode)) TLM_FAIL(kInvalidArgument) << path.string() << ": not a regular file";
  const size_t size = static_cast<size_t>(st.st_size);
  // mmap rejects length 0; an empty file is still a valid (if useless) input for the parsers.
  if (size == 0) return std::shared_ptr<const MappedFile>(new MappedFile(nullptr, 0, nullptr, 0));
  if (access == FileAccess::kRead) {
    return read_file(fd, size, path, [size](const uint8_t* data, void* region, size_t region_size) {
      return std::shared_ptr<const MappedFile>(new MappedFile(data, size, region, region_size));
    });
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) TLM_FAIL(kInvalidArgument) << path.string() << ": cannot mmap: " << std::strerror(errno);
  return std::shared_ptr<const MappedFile>(new MappedFile(static_cast<const uint8_t*>(p), size, p, size));
}

MappedFile::~MappedFile() {
  if (region_) ::munmap(region_, region_size_);
}

void MappedFile::prefetch(size_t offset, size_t length) const {
  if (!data_ || offset >= size_ || length == 0) return;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t begin = offset / page * page;
  const size_t end = std::min(size_, offset + std::min(length, size_ - offset));
  ::madvise(const_cast<uint8_t*>(data_) + begin, end - begin, MADV_WILLNEED);
}

}  // namespace turbolm
