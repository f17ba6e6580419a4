// Single-thread encode throughput: turbolm_tokenizer_bench MODEL_DIR TEXT_FILE [repeats]
// Prints load time, MB/s and tokens/s; tools/tokenizer_bench.sh runs it beside HF tokenizers on the same text.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR TEXT_FILE [repeats]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 3;
  std::ifstream in(argv[2], std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto tok = turbolm::Tokenizer::from_dir(argv[1]);
  const double load_s = std::chrono::duration<double>(clock::now() - t0).count();
  size_t tokens = 0;
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = clock::now();
    tokens = tok->encode(text).size();
    best = std::min(best, std::chrono::duration<double>(clock::now() - start).count());
  }
  std::printf("turbolm load_s=%.3f bytes=%zu tokens=%zu best_s=%.4f MB/s=%.2f tokens/s=%.0f\n", load_s, text.size(),
              tokens, best, text.size() / best / 1e6, tokens / best);
  return 0;
}
