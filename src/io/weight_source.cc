#include "io/weight_source.h"

#include <algorithm>

#include "core/error.h"
#include "io/json_file.h"

namespace turbolm {
namespace {

namespace fs = std::filesystem;

constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr const char* kSingleFile = "model.safetensors";

// weight_map values are file names inside the model folder; anything else (absolute paths, "..", sub-folders)
// could point outside it.
fs::path shard_path(const fs::path& dir, const fs::path& index, const std::string& tensor, const std::string& file) {
  const fs::path rel(file);
  if (file.empty() || rel.has_parent_path() || rel.is_absolute() || file == "." || file == "..")
    TLM_FAIL(kInvalidArgument) << index.string() << ": tensor '" << tensor << "' maps to '" << file
                               << "', which is not a file name in the model folder";
  return dir / rel;
}

}  // namespace

WeightSource WeightSource::open_dir(const fs::path& model_dir, FileAccess access) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec))
    TLM_FAIL(kNotFound) << "model folder " << model_dir.string() << " does not exist";
  WeightSource ws;
  ws.dir_ = model_dir;

  // Every file the layout names, plus (with an index) the tensor -> file name map to verify afterwards.
  std::vector<fs::path> paths;
  std::map<std::string, fs::path> weight_map;
  const fs::path index = model_dir / kIndexFile;
  if (fs::exists(index, ec)) {
    const nlohmann::json j = read_json_file(index);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      TLM_FAIL(kInvalidArgument) << index.string() << ": expected an object with a 'weight_map' object";
    for (const auto& [tensor, file] : j["weight_map"].items()) {
      if (!file.is_string())
        TLM_FAIL(kInvalidArgument) << index.string() << ": tensor '" << tensor << "' must map to a file name, got "
                                   << file.dump();
      fs::path p = shard_path(model_dir, index, tensor, file.get<std::string>());
      if (std::find(paths.begin(), paths.end(), p) == paths.end()) {
        if (!fs::is_regular_file(p, ec))
          TLM_FAIL(kNotFound) << index.string() << ": shard " << p.filename().string() << " (holding tensor '" << tensor
                              << "') is missing from " << model_dir.string();
        paths.push_back(p);
      }
      weight_map.emplace(tensor, std::move(p));
    }
    if (weight_map.empty()) TLM_FAIL(kInvalidArgument) << index.string() << ": 'weight_map' is empty";
  } else if (fs::exists(model_dir / kSingleFile, ec)) {
    paths.push_back(model_dir / kSingleFile);
  } else {
    throw_if_dangling_link(model_dir / kSingleFile);
    try {
      for (const auto& e : fs::directory_iterator(model_dir))
        if (e.path().extension() == ".safetensors" && e.is_regular_file()) paths.push_back(e.path());
    } catch (const fs::filesystem_error& e) {
      TLM_FAIL(kInvalidArgument) << "model folder " << model_dir.string() << ": cannot list: " << e.code().message();
    }
    if (paths.empty())
      TLM_FAIL(kNotFound) << "model folder " << model_dir.string() << " has no " << kSingleFile << ", no " << kIndexFile
                          << " and no other .safetensors files";
  }
  std::sort(paths.begin(), paths.end());

  for (const fs::path& p : paths) {
    ws.files_.push_back(SafetensorsFile::open(p, access));
    const SafetensorsFile& file = *ws.files_.back();
    for (const auto& info : file.tensors()) {
      auto [it, inserted] = ws.entries_.try_emplace(info.name, Entry{&file, &info});
      if (!inserted)
        TLM_FAIL(kInvalidArgument) << model_dir.string() << ": tensor '" << info.name << "' is in both "
                                   << it->second.file->path().filename().string() << " and " << p.filename().string();
    }
  }
  for (const auto& [tensor, p] : weight_map) {
    auto it = ws.entries_.find(tensor);
    if (it == ws.entries_.end())
      TLM_FAIL(kInvalidArgument) << index.string() << ": tensor '" << tensor << "' is mapped to "
                                 << p.filename().string() << " but that shard does not contain it";
    if (it->second.file->path() != p)
      TLM_FAIL(kInvalidArgument) << index.string() << ": tensor '" << tensor << "' is mapped to "
                                 << p.filename().string() << " but is in "
                                 << it->second.file->path().filename().string();
  }
  return ws;
}

bool WeightSource::contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }

const SafetensorsTensorInfo* WeightSource::info(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.info;
}

Tensor WeightSource::get(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) TLM_FAIL(kNotFound) << "tensor '" << name << "' not found in " << dir_.string();
  return it->second.file->tensor(*it->second.info);
}

std::optional<Tensor> WeightSource::get_optional(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  return it->second.file->tensor(*it->second.info);
}

std::vector<std::string> WeightSource::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

}  // namespace turbolm
