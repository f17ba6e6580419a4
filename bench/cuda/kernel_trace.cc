#include "kernel_trace.h"

#include <cuda_runtime.h>
#include <cxxabi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "core/error.h"

#ifdef TURBOLM_HAVE_CUPTI
#include <cupti.h>
#endif

namespace turbolm {
namespace {

// "void turbolm::cuda::(anonymous namespace)::gemv_kernel<__nv_bfloat16, 1, 4>(...)" -> "gemv_kernel<bf16, 1, 4>".
std::string short_name(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  std::string name = status == 0 ? demangled.get() : mangled;
  int depth = 0;
  for (size_t i = 0; i < name.size(); ++i) {  // drop the parameter list: the first '(' outside template brackets
    if (name[i] == '<') ++depth;
    if (name[i] == '>') --depth;
    if (name[i] == '(' && depth == 0 && name.compare(i, 11, "(anonymous ") != 0) {
      name.resize(i);
      break;
    }
  }
  const std::pair<const char*, const char*> replacements[] = {
      {"void ", ""},     {"turbolm::cuda::", ""}, {"(anonymous namespace)::", ""}, {"__nv_bfloat16", "bf16"},
      {"__half", "f16"}, {"turbolm::", ""}};
  for (const auto& [from, to] : replacements) {
    for (size_t at = name.find(from); at != std::string::npos; at = name.find(from, at)) {
      name.replace(at, std::char_traits<char>::length(from), to);
      at += std::char_traits<char>::length(to);
    }
  }
  if (name.size() > 72) name = name.substr(0, 69) + "...";
  return name;
}

#ifdef TURBOLM_HAVE_CUPTI
std::mutex records_mutex;
std::vector<KernelTrace::Kernel>* records = nullptr;

#define CUPTI_CHECK(expr)                                                                                         \
  do {                                                                                                            \
    const CUptiResult tlm_cupti_ = (expr);                                                                        \
    if (tlm_cupti_ != CUPTI_SUCCESS) TLM_FAIL(kInternal) << #expr << " failed: " << static_cast<int>(tlm_cupti_); \
  } while (0)

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  constexpr size_t kBytes = size_t{8} << 20;
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBytes));
  *size = kBytes;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid_bytes) {
  CUpti_Activity* record = nullptr;
  std::lock_guard<std::mutex> lock(records_mutex);
  while (cuptiActivityGetNextRecord(buffer, valid_bytes, &record) == CUPTI_SUCCESS) {
    if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || records == nullptr) continue;
    const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
    records->push_back({short_name(k->name), k->start, k->end});
  }
  std::free(buffer);
}
#endif

}  // namespace

bool KernelTrace::available() {
#ifdef TURBOLM_HAVE_CUPTI
  return true;
#else
  return false;
#endif
}

void KernelTrace::start() {
  kernels_.clear();
#ifdef TURBOLM_HAVE_CUPTI
  {
    std::lock_guard<std::mutex> lock(records_mutex);
    records = &kernels_;
  }
  CUPTI_CHECK(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed));
  CUPTI_CHECK(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
#endif
}

void KernelTrace::stop() {
#ifdef TURBOLM_HAVE_CUPTI
  cudaDeviceSynchronize();
  CUPTI_CHECK(cuptiActivityFlushAll(1));
  CUPTI_CHECK(cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
  std::lock_guard<std::mutex> lock(records_mutex);
  records = nullptr;
  std::sort(kernels_.begin(), kernels_.end(), [](const Kernel& a, const Kernel& b) { return a.start_ns < b.start_ns; });
#endif
}

std::string KernelTrace::summary(int steps) const {
  if (kernels_.empty()) return "(no kernels traced)\n";
  struct Row {
    int count = 0;
    double busy_ns = 0, added_ns = 0;
    size_t first = 0;
  };
  std::map<std::string, Row> rows;
  uint64_t latest_end = kernels_.front().start_ns;
  for (size_t i = 0; i < kernels_.size(); ++i) {
    const Kernel& k = kernels_[i];
    Row& r = rows[k.name];
    if (r.count++ == 0) r.first = i;
    r.busy_ns += static_cast<double>(k.end_ns - k.start_ns);
    if (k.end_ns > latest_end) {
      r.added_ns += static_cast<double>(k.end_ns - latest_end);
      latest_end = k.end_ns;
    }
  }
  std::vector<std::pair<std::string, Row>> sorted(rows.begin(), rows.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.added_ns > b.second.added_ns; });
  const double span_ns = static_cast<double>(latest_end - kernels_.front().start_ns);
  std::string out =
      "| kernel | per step | mean us (start to end) | critical-path us per step | share |\n"
      "| --- | --- | --- | --- | --- |\n";
  char line[256];
  for (const auto& [name, r] : sorted) {
    std::snprintf(line, sizeof line, "| %s | %.1f | %.2f | %.1f | %.1f%% |\n", name.c_str(),
                  static_cast<double>(r.count) / steps, r.busy_ns / r.count / 1e3, r.added_ns / steps / 1e3,
                  100.0 * r.added_ns / span_ns);
    out += line;
  }
  std::snprintf(line, sizeof line, "| (span: first start to last end) | | | %.1f | 100%% |\n", span_ns / steps / 1e3);
  out += line;
  return out;
}

std::string KernelTrace::step_timeline(int head, int tail) const {
  if (kernels_.empty()) return "(no kernels traced)\n";
  std::vector<size_t> starts;
  for (size_t i = 0; i < kernels_.size(); ++i)
    if (kernels_[i].name == kernels_.front().name) starts.push_back(i);
  starts.push_back(kernels_.size());
  const size_t per_step = starts[1] - starts[0];
  for (size_t s = 0; s + 1 < starts.size(); ++s)
    if (starts[s + 1] - starts[s] != per_step) return "(steps launch different kernels: no timeline)\n";
  const size_t steps = starts.size() - 1;
  std::vector<double> busy(per_step, 0.0), added(per_step, 0.0);
  for (size_t s = 0; s < steps; ++s) {
    uint64_t latest_end = s == 0 ? kernels_[0].start_ns : kernels_[starts[s] - 1].end_ns;
    for (size_t i = 0; i < per_step; ++i) {
      const Kernel& k = kernels_[starts[s] + i];
      busy[i] += static_cast<double>(k.end_ns - k.start_ns);
      if (k.end_ns > latest_end) {
        added[i] += static_cast<double>(k.end_ns - latest_end);
        latest_end = k.end_ns;
      }
    }
  }
  std::string out = "| # | kernel | mean us (start to end) | critical-path us |\n| --- | --- | --- | --- |\n";
  char line[256];
  for (size_t i = 0; i < per_step; ++i) {
    if (static_cast<int>(i) == head && per_step > static_cast<size_t>(head + tail)) out += "| ... | | | |\n";
    if (static_cast<int>(i) >= head && i + tail < per_step) continue;
    std::snprintf(line, sizeof line, "| %zu | %s | %.2f | %.2f |\n", i, kernels_[starts[0] + i].name.c_str(),
                  busy[i] / steps / 1e3, added[i] / steps / 1e3);
    out += line;
  }
  return out;
}

}  // namespace turbolm
