// tokenizer.model (SentencePiece) through libsentencepiece, wrapped as a TokenizerModel so added tokens, BOS/EOS and
// the decoder work as for tokenizer.json. The decoder is the one transformers' LlamaConverter builds for such models.
#include <sentencepiece_processor.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/json_file.h"
#include "tokenizer/pipeline.h"

namespace turbolm {
namespace {

// --- minimal protobuf walking, to patch pieces that some sentencepiece builds refuse ---

bool read_varint(std::string_view s, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; pos < s.size() && shift < 64; shift += 7) {
    const auto b = static_cast<unsigned char>(s[pos++]);
    value |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

void write_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

// Returns the serialized ModelProto with every piece whose text is a single NUL byte marked UNUSED (type 5), as
// sentencepiece >= 0.2 does when it loads InternLM2's model: older builds reject or mis-handle that piece.
std::string mark_nul_pieces_unused(const std::string& proto, const std::string& file) {
  std::string out;
  out.reserve(proto.size() + 16);
  size_t pos = 0;
  while (pos < proto.size()) {
    const size_t field_start = pos;
    uint64_t tag = 0, len = 0;
    if (!read_varint(proto, pos, tag)) TLM_FAIL(kInvalidArgument) << file << ": malformed SentencePiece model";
    const auto wire = tag & 7;
    if (wire == 0) {
      uint64_t ignored;
      read_varint(proto, pos, ignored);
    } else if (wire == 1) {
      pos += 8;
    } else if (wire == 5) {
      pos += 4;
    } else if (wire == 2) {
      if (!read_varint(proto, pos, len) || pos + len > proto.size())
        TLM_FAIL(kInvalidArgument) << file << ": malformed SentencePiece model";
      if ((tag >> 3) == 1) {  // ModelProto.pieces
        std::string piece(proto.substr(pos, len));
        // SentencePiece.piece is field 1: tag 0x0A, length 1, byte 0.
        if (piece.size() >= 3 && piece[0] == 0x0A && piece[1] == 0x01 && piece[2] == '\0') {
          piece += std::string("\x18\x05", 2);  // type = UNUSED; the last value of a field wins in protobuf
          write_varint(out, tag);
          write_varint(out, piece.size());
          out += piece;
          pos += len;
          continue;
        }
      }
      pos += len;
    } else {
      TLM_FAIL(kInvalidArgument) << file << ": malformed SentencePiece model";
    }
    if (pos > proto.size()) TLM_FAIL(kInvalidArgument) << file << ": malformed SentencePiece model";
    out.append(proto, field_start, pos - field_start);
  }
  return out;
}

class SentencePieceModel final : public TokenizerModel {
 public:
  explicit SentencePieceModel(const std::filesystem::path& file) {
    const auto status =
        processor_.LoadFromSerializedProto(mark_nul_pieces_unused(read_regular_file(file), file.string()));
    if (!status.ok())
      TLM_FAIL(kInvalidArgument) << file.string() << ": cannot load SentencePiece model: " << status.ToString();
    pieces_.reserve(processor_.GetPieceSize());
    for (int i = 0; i < processor_.GetPieceSize(); ++i) {
      pieces_.push_back(processor_.IdToPiece(i));
      if (pieces_.back() == std::string(1, '\0')) nul_piece_ = i;
    }
    byte_zero_ = processor_.PieceToId("<0x00>");
    if (!processor_.IsByte(byte_zero_)) nul_piece_ = -1;
  }
  void tokenize(std::string_view word, std::vector<int32_t>& out) const override {
    std::vector<int> ids;
    const auto status = processor_.Encode(word, &ids);
    TLM_CHECK(status.ok()) << status.ToString();
    // Builds that still match the NUL piece (sentencepiece 0.1.x ignores UNUSED here) get the byte fallback
    // token that sentencepiece >= 0.2 produces.
    for (int id : ids) out.push_back(id == nul_piece_ ? byte_zero_ : id);
  }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    const int id = processor_.PieceToId(token);
    if (id < 0 || pieces_[id] != token) return std::nullopt;  // PieceToId answers unk for unknown pieces
    return id;
  }
  const std::string* id_to_token(int32_t id) const override {
    return id >= 0 && static_cast<size_t>(id) < pieces_.size() ? &pieces_[id] : nullptr;
  }
  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  const sentencepiece::SentencePieceProcessor& processor() const { return processor_; }

 private:
  sentencepiece::SentencePieceProcessor processor_;
  std::vector<std::string> pieces_;
  int nul_piece_ = -1;  // a piece whose text is "\0", if any
  int byte_zero_ = -1;  // <0x00>
};

}  // namespace

std::unique_ptr<TokenizerPipeline> load_sentencepiece_model(const std::filesystem::path& file) {
  auto model = std::make_unique<SentencePieceModel>(file);
  const auto& sp = model->processor();
  auto pipeline = std::make_unique<TokenizerPipeline>();
  // Control pieces (<s>, </s>) and <unk> are special tokens in transformers, recognized in the input text.
  for (int i = 0; i < sp.GetPieceSize(); ++i) {
    if (sp.IsControl(i) || sp.IsUnknown(i)) pipeline->added.add({sp.IdToPiece(i), i, true});
    if (sp.IsByte(i)) pipeline->byte_fallback_ids.insert(i);
  }
  // add_dummy_prefix shows in how a lone letter is encoded; it decides whether decoding strips the leading space.
  std::vector<std::string> probe;
  sp.Encode("a", &probe).IgnoreError();
  const bool dummy_prefix = !probe.empty() && probe[0].rfind("\u2581", 0) == 0;
  nlohmann::json decoder = {{"type", "Sequence"},
                            {"decoders",
                             {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                              {{"type", "ByteFallback"}},
                              {{"type", "Fuse"}}}}};
  if (dummy_prefix) decoder["decoders"].push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  pipeline->decoder = make_decoder(decoder);
  if (sp.bos_id() >= 0) pipeline->special_tokens.prefix.push_back(sp.bos_id());  // LlamaTokenizer's default
  pipeline->model = std::move(model);
  return pipeline;
}

}  // namespace turbolm
