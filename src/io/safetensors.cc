#include "io/safetensors.h"

#include <algorithm>

#include "core/error.h"
#include "io/mapped_file.h"

namespace turbolm {

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path, FileAccess access) {
  std::shared_ptr<const MappedFile> mapping = MappedFile::open(path, access);
  SafetensorsHeader header = parse_safetensors_header(mapping->bytes(), path.string());
  return std::shared_ptr<SafetensorsFile>(new SafetensorsFile(path, std::move(mapping), std::move(header)));
}

SafetensorsFile::SafetensorsFile(std::filesystem::path path, std::shared_ptr<const MappedFile> mapping,
                                 SafetensorsHeader header)
    : path_(std::move(path)), mapping_(std::move(mapping)), header_(std::move(header)) {}

const SafetensorsTensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto& tensors = header_.tensors;
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const SafetensorsTensorInfo& t, std::string_view n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

Tensor SafetensorsFile::tensor(std::string_view name) const {
  const SafetensorsTensorInfo* info = find(name);
  if (!info) TLM_FAIL(kNotFound) << path_.string() << ": no tensor '" << name << "'";
  return tensor(*info);
}

Tensor SafetensorsFile::tensor(const SafetensorsTensorInfo& info) const {
  const size_t offset = header_.data_offset + info.begin;
  TLM_CHECK(info.end >= info.begin && header_.data_offset + info.end <= mapping_->size())
      << "tensor info for '" << info.name << "' does not belong to " << path_.string();
  // Callers read a tensor right after asking for it (to copy or repack it), so start the disk reads now.
  mapping_->prefetch(offset, info.end - info.begin);
  // The mapping is read-only; Tensor has no const view type, so the const is cast away here and documented.
  auto* data = const_cast<uint8_t*>(mapping_->data()) + offset;
  return Tensor::wrap(data, info.shape, info.dtype, Device::cpu(), std::const_pointer_cast<MappedFile>(mapping_));
}

uint64_t SafetensorsFile::file_size() const { return mapping_->size(); }

}  // namespace turbolm
