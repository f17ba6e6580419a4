#include "cli/bench_lengths.h"

#include "core/error.h"

namespace turbolm::cli {

void check_bench_lengths(int input_len, int output_len, int64_t max_tokens, std::string_view limit) {
  const int64_t total = int64_t{input_len} + output_len;
  TLM_CHECK_ARG(total <= max_tokens) << "--input-len " << input_len << " + --output-len " << output_len << " = "
                                     << total << " tokens do not fit in " << limit;
}

}  // namespace turbolm::cli
