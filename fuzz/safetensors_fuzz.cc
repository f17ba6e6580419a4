// libFuzzer target for parse_safetensors_header: any byte string must either parse into a header whose tensors
// lie inside the file without overlapping, or throw turbolm::Error. Crashes, sanitizer reports and other
// exceptions are bugs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const turbolm::SafetensorsHeader h = turbolm::parse_safetensors_header(std::span(data, size), "fuzz.safetensors");
    // The invariants that make zero-copy views safe.
    if (h.data_offset > size) std::abort();
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& t : h.tensors) {
      if (t.begin > t.end || t.end > size - h.data_offset) std::abort();
      const auto numel = static_cast<size_t>(turbolm::shape_numel(t.shape));
      if (t.end - t.begin != turbolm::dtype_bytes(t.dtype, numel)) std::abort();
      if (t.end > t.begin) ranges.emplace_back(t.begin, t.end);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
      if (ranges[i].first < ranges[i - 1].second) std::abort();
  } catch (const turbolm::Error&) {
    // Rejected input: the expected outcome for most fuzz inputs.
  }
  return 0;
}
