// Text <-> token ids, id for id with Hugging Face tokenizers / transformers, from a model folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace turbolm {

struct TokenizerPipeline;

class Tokenizer {
 public:
  // Loads tokenizer.json (primary), else tokenizer.model (SentencePiece), else vocab.json + merges.txt, plus
  // tokenizer_config.json (add_bos_token / add_eos_token for SentencePiece folders, bos/eos/pad/unk tokens,
  // added_tokens_decoder). Throws turbolm::Error naming the file on failure.
  static std::unique_ptr<Tokenizer> from_dir(const std::filesystem::path& model_dir);
  virtual ~Tokenizer();

  // Invalid UTF-8 in `text` is replaced by U+FFFD first (as Python's decode(errors="replace") would).
  // add_special_tokens adds what the post-processor says (e.g. BOS); special tokens written in the text are
  // always recognized, as in transformers.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // spaces_between_special_tokens only matters for slow (Python) tokenizers; every backend here decodes like a
  // fast tokenizer, which ignores it. It is accepted so callers can pass HF's flags through unchanged.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false,
                     bool spaces_between_special_tokens = true) const;

  int32_t vocab_size() const;  // including added tokens (max id + 1)
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::string id_to_token(int32_t id) const;  // raw piece ("" for an unknown id)
  bool is_special(int32_t id) const;
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  std::optional<int32_t> pad_id() const { return pad_id_; }
  std::optional<int32_t> unk_id() const { return unk_id_; }
  std::string bos_token() const { return bos_token_; }
  std::string eos_token() const { return eos_token_; }

  // True for byte tokens (<0xXX>) that decoding merges with neighbouring byte tokens (used by the detokenizer).
  bool is_byte_fallback(int32_t id) const;

 private:
  explicit Tokenizer(std::unique_ptr<TokenizerPipeline> pipeline);
  void read_config(const std::filesystem::path& config_file, bool sentencepiece);

  std::unique_ptr<TokenizerPipeline> pipeline_;
  std::optional<int32_t> bos_id_, eos_id_, pad_id_, unk_id_;
  std::string bos_token_, eos_token_;
};

// Streaming detokenizer: push ids one at a time; each push returns the newly completed text (never a broken UTF-8
// sequence); the concatenation of all deltas + finish() equals tokenizer.decode(all ids, same flags).
// Each push decodes only a short window of recent ids (like vLLM's prefix/read offsets).
// `context`: the ids before the first pushed one (a prompt). Their text is not emitted, but the last few of them
// start the window, so the first ids read as a continuation (a SentencePiece "▁upon" after "Once" gives " upon", as
// vLLM and LMDeploy stream it); the deltas then concatenate to decode(tail + ids) minus decode(tail) for that tail
// (none when the prompt ends inside a byte run or a UTF-8 sequence, whose reading later ids could change).
class IncrementalDetokenizer {
 public:
  IncrementalDetokenizer(const Tokenizer& tok, bool skip_special_tokens = true,
                         bool spaces_between_special_tokens = true, std::span<const int32_t> context = {});
  std::string push(int32_t id);
  std::string finish();
  // For each of `ids`, the text it would add if pushed now, as it reads after the ids so far (for logprobs: the
  // sampled token and its alternatives): decode(window + id) minus decode(window), or decode(id) alone where that
  // is no continuation (e.g. inside a byte run). Special tokens show their names (a logprob of "</s>" is not ""),
  // whatever skip_special_tokens says.
  std::vector<std::string> peek(std::span<const int32_t> ids) const;

 private:
  std::string decode_range(size_t begin, size_t end) const;

  const Tokenizer& tok_;
  bool skip_special_tokens_;
  bool spaces_between_special_tokens_;
  std::vector<int32_t> ids_;  // ids from the window start on (earlier ids are dropped)
  size_t read_ = 0;           // ids_[0, read_) have been emitted as text
  bool in_byte_run_ = false;  // the last id that decodes to something is a byte-fallback token
};

}  // namespace turbolm
