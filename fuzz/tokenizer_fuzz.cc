// libFuzzer: encode arbitrary bytes, decode arbitrary ids and stream them, with a byte-level (GPT-2) and a
// SentencePiece-style (stories260K, byte fallback) tokenizer. Neither may crash; the stream must equal the one-shot
// decode.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {
const std::vector<std::unique_ptr<turbolm::Tokenizer>>& tokenizers() {
  static const auto* toks = [] {
    auto* v = new std::vector<std::unique_ptr<turbolm::Tokenizer>>;
    // $TURBOLM_SHARED_DIR, else the shared/ folder the build was configured with (fuzz/CMakeLists.txt).
    const char* env = std::getenv("TURBOLM_SHARED_DIR");
    const std::string shared = env ? env : TURBOLM_SHARED_DIR;
    v->push_back(turbolm::Tokenizer::from_dir(shared + "/models/stories260K-hf"));
    v->push_back(turbolm::Tokenizer::from_dir(shared + "/tokenizers/gpt2"));
    return v;
  }();
  return *toks;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto& tok : tokenizers()) {
    const auto ids = tok->encode(text, /*add_special_tokens=*/size % 2 == 0);
    (void)tok->decode(ids);
    std::vector<int32_t> raw;  // the bytes read as arbitrary (possibly invalid) ids
    for (size_t i = 0; i + 1 < size; i += 2) raw.push_back((data[i] << 8 | data[i + 1]) % (tok->vocab_size() + 8) - 4);
    const bool skip = size % 3 == 0;
    turbolm::IncrementalDetokenizer detok(*tok, skip);
    std::string streamed;
    for (int32_t id : raw) streamed += detok.push(id);
    streamed += detok.finish();
    if (streamed != tok->decode(raw, skip)) std::abort();
  }
  return 0;
}
