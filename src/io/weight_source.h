// All weights of a Hugging Face model folder, across safetensors shards, by tensor name.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"

namespace turbolm {

class WeightSource {
 public:
  // Layouts, in order of preference: model.safetensors.index.json (its weight_map names the shards; every shard
  // must exist and hold every tensor mapped to it), model.safetensors, else every *.safetensors file in the
  // folder. A tensor name found in two files is an error.
  // `access` = how shard bytes reach memory (io/mapped_file.h): kRead for weights the CPU computes with.
  static WeightSource open_dir(const std::filesystem::path& model_dir, FileAccess access = FileAccess::kMap);

  bool contains(std::string_view name) const;
  const SafetensorsTensorInfo* info(std::string_view name) const;  // dtype/shape without touching data; null if absent
  Tensor get(std::string_view name) const;  // zero-copy view; throws kNotFound naming the tensor and the folder
  std::optional<Tensor> get_optional(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return entries_.size(); }
  const std::filesystem::path& dir() const { return dir_; }
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  struct Entry {
    const SafetensorsFile* file;  // owned by files_
    const SafetensorsTensorInfo* info;
  };

  std::filesystem::path dir_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace turbolm
