#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace turbolm {
namespace {

// Closes the descriptor on every path; the mapping outlives it.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
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
  if (size == 0) return std::shared_ptr<const MappedFile>(new MappedFile(nullptr, 0));
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) TLM_FAIL(kInvalidArgument) << path.string() << ": cannot mmap: " << std::strerror(errno);
  return std::shared_ptr<const MappedFile>(new MappedFile(static_cast<const uint8_t*>(p), size));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::prefetch(size_t offset, size_t length) const {
  if (!data_ || offset >= size_ || length == 0) return;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t begin = offset / page * page;
  const size_t end = std::min(size_, offset + std::min(length, size_ - offset));
  ::madvise(const_cast<uint8_t*>(data_) + begin, end - begin, MADV_WILLNEED);
}

}  // namespace turbolm
