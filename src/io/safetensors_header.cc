// parse_safetensors_header: everything a file image must satisfy before any tensor view is handed out.
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/error.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace turbolm {
namespace {

constexpr std::string_view kMetadataKey = "__metadata__";

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string describe(const nlohmann::json& value) {
  std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// Messages read "<file>: tensor '<name>': <problem>".
struct TensorContext {
  std::string_view file;
  std::string_view name;
};

#define TENSOR_FAIL(ctx) TLM_FAIL(kInvalidArgument) << (ctx).file << ": tensor '" << (ctx).name << "': "

DType parse_dtype(const nlohmann::json& entry, const TensorContext& ctx) {
  auto it = entry.find("dtype");
  if (it == entry.end()) TENSOR_FAIL(ctx) << "missing 'dtype'";
  if (!it->is_string()) TENSOR_FAIL(ctx) << "'dtype' must be a string, got " << describe(*it);
  const auto& name = it->get_ref<const std::string&>();
  const std::optional<DType> dtype = dtype_from_safetensors(name);
  if (!dtype)
    TENSOR_FAIL(ctx) << "unknown dtype " << describe(*it)
                     << " (known: F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL)";
  return *dtype;
}

// Returns the shape and, through `bytes`, its size in bytes; rejects negative dims and sizes that overflow.
Shape parse_shape(const nlohmann::json& entry, DType dtype, uint64_t& bytes, const TensorContext& ctx) {
  auto it = entry.find("shape");
  if (it == entry.end()) TENSOR_FAIL(ctx) << "missing 'shape'";
  if (!it->is_array()) TENSOR_FAIL(ctx) << "'shape' must be a list of non-negative integers, got " << describe(*it);
  Shape shape;
  uint64_t numel = 1;
  bool overflow = false;
  bool has_zero = false;
  for (const auto& d : *it) {
    if (!d.is_number_unsigned())
      TENSOR_FAIL(ctx) << "'shape' must be a list of non-negative integers, got " << describe(*it);
    const uint64_t dim = d.get<uint64_t>();
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      TENSOR_FAIL(ctx) << "dimension " << dim << " is too large";
    overflow = overflow || __builtin_mul_overflow(numel, dim, &numel);
    has_zero = has_zero || dim == 0;
    shape.push_back(static_cast<int64_t>(dim));
  }
  // A zero dimension makes any overflow in the other dims moot.
  if (has_zero) {
    overflow = false;
    numel = 0;
  }
  const uint64_t bits = static_cast<uint64_t>(dtype_bits(dtype));
  if (overflow || numel > std::numeric_limits<uint64_t>::max() / bits ||
      numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    TENSOR_FAIL(ctx) << "shape " << describe(*it) << " is too large";
  bytes = (numel * bits + 7) / 8;
  return shape;
}

void parse_offsets(const nlohmann::json& entry, uint64_t data_size, SafetensorsTensorInfo& info,
                   const TensorContext& ctx) {
  auto it = entry.find("data_offsets");
  if (it == entry.end()) TENSOR_FAIL(ctx) << "missing 'data_offsets'";
  if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_unsigned() || !(*it)[1].is_number_unsigned())
    TENSOR_FAIL(ctx) << "'data_offsets' must be [begin, end] with non-negative integers, got " << describe(*it);
  info.begin = (*it)[0].get<uint64_t>();
  info.end = (*it)[1].get<uint64_t>();
  if (info.begin > info.end)
    TENSOR_FAIL(ctx) << "data offsets [" << info.begin << ", " << info.end << ") end before they begin";
  if (info.end > data_size)
    TENSOR_FAIL(ctx) << "data offsets [" << info.begin << ", " << info.end << ") exceed the data section (" << data_size
                     << " bytes)";
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& value, std::string_view file_name) {
  if (!value.is_object())
    TLM_FAIL(kInvalidArgument) << file_name << ": '__metadata__' must be an object of strings, got " << describe(value);
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string())
      TLM_FAIL(kInvalidArgument) << file_name << ": '__metadata__' entry '" << key << "' must be a string, got "
                                 << describe(v);
    metadata.emplace(key, v.get<std::string>());
  }
  return metadata;
}

void check_no_overlap(const std::vector<SafetensorsTensorInfo>& tensors, std::string_view file_name) {
  std::vector<const SafetensorsTensorInfo*> by_offset;
  by_offset.reserve(tensors.size());
  for (const auto& t : tensors)
    if (t.end > t.begin) by_offset.push_back(&t);  // empty tensors occupy no bytes
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const auto& prev = *by_offset[i - 1];
    const auto& cur = *by_offset[i];
    if (cur.begin < prev.end)
      TLM_FAIL(kInvalidArgument) << file_name << ": tensor '" << cur.name << "': data offsets [" << cur.begin << ", "
                                 << cur.end << ") overlap tensor '" << prev.name << "' [" << prev.begin << ", "
                                 << prev.end << ")";
  }
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file_bytes, std::string_view file_name) {
  const uint64_t file_size = file_bytes.size();
  if (file_size < 8)
    TLM_FAIL(kInvalidArgument) << file_name << ": not a safetensors file: " << file_size
                               << " bytes, shorter than the 8-byte header length";
  const uint64_t header_len = read_u64_le(file_bytes.data());
  if (header_len > kMaxSafetensorsHeaderBytes)
    TLM_FAIL(kInvalidArgument) << file_name << ": header length " << header_len << " exceeds the "
                               << kMaxSafetensorsHeaderBytes << "-byte limit (corrupt or not a safetensors file)";
  if (header_len > file_size - 8)
    TLM_FAIL(kInvalidArgument) << file_name << ": header length " << header_len << " exceeds the file (" << file_size
                               << " bytes): truncated file?";
  if (header_len < 2 || file_bytes[8] != '{')
    TLM_FAIL(kInvalidArgument) << file_name << ": header must be a JSON object starting with '{'";

  const auto* header_begin = reinterpret_cast<const char*>(file_bytes.data() + 8);
  nlohmann::json header;
  // nlohmann keeps the last of repeated keys; a tensor listed twice is corruption, so the parser reports names.
  std::set<std::string> names;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (opens_too_deep(depth, event))
      TLM_FAIL(kInvalidArgument) << file_name << ": header nests JSON deeper than " << kMaxJsonDepth << " levels";
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && duplicate.empty() &&
        !names.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  try {
    header = nlohmann::json::parse(header_begin, header_begin + header_len, on_event);
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL(kInvalidArgument) << file_name << ": header is not valid JSON: " << e.what();
  }
  if (!duplicate.empty()) TLM_FAIL(kInvalidArgument) << file_name << ": tensor '" << duplicate << "' is listed twice";
  if (!header.is_object()) TLM_FAIL(kInvalidArgument) << file_name << ": header must be a JSON object";

  SafetensorsHeader result;
  result.data_offset = 8 + header_len;
  const uint64_t data_size = file_size - result.data_offset;
  result.tensors.reserve(header.size());
  // nlohmann::json objects iterate in key order, so the tensors come out sorted by name.
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      result.metadata = parse_metadata(entry, file_name);
      continue;
    }
    SafetensorsTensorInfo info;
    info.name = name;
    const TensorContext ctx{file_name, info.name};
    if (!entry.is_object()) TENSOR_FAIL(ctx) << "entry must be an object, got " << describe(entry);
    // Keys other than dtype/shape/data_offsets are ignored, as the reference implementation does.
    info.dtype = parse_dtype(entry, ctx);
    uint64_t bytes = 0;
    info.shape = parse_shape(entry, info.dtype, bytes, ctx);
    parse_offsets(entry, data_size, info, ctx);
    if (info.end - info.begin != bytes)
      TENSOR_FAIL(ctx) << "shape " << shape_to_string(info.shape) << " x " << dtype_safetensors_name(info.dtype)
                       << " needs " << bytes << " bytes, but data offsets [" << info.begin << ", " << info.end
                       << ") hold " << info.end - info.begin;
    result.tensors.push_back(std::move(info));
  }
  check_no_overlap(result.tensors, file_name);
  return result;
}

}  // namespace turbolm
