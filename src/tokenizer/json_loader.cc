#include "tokenizer/json_loader.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "io/json_file.h"

namespace turbolm {
namespace {

using nlohmann::json;
using Dom = nlohmann::detail::json_sax_dom_parser<json>;

// Forwards every event to the DOM builder except the contents of model.vocab and model.merges.
class Handler : public nlohmann::json_sax<json> {
 public:
  explicit Handler(TokenizerJson& out) : out_(out), dom_(out.doc, /*allow_exceptions=*/false) {}

  bool null() override { return capturing() ? fail() : dom_.null(); }
  bool boolean(bool v) override { return capturing() ? fail() : dom_.boolean(v); }
  bool number_integer(number_integer_t v) override { return capturing() ? vocab_id(v) : dom_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) override { return capturing() ? vocab_id(v) : dom_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) override {
    return capturing() ? fail() : dom_.number_float(v, s);
  }
  bool binary(binary_t& v) override { return capturing() ? fail() : dom_.binary(v); }
  bool string(string_t& v) override {
    if (mode_ == Mode::kVocab) return fail();
    if (mode_ == Mode::kMerges) return merge_string(v);
    return dom_.string(v);
  }
  bool start_object(std::size_t n) override {
    if (++depth_ > kMaxJsonDepth) return too_deep();
    if (capturing()) return fail();
    // Depth 1 is the root, 2 the "model" object, 3 its "vocab".
    if (depth_ == 3 && last_key_ == "vocab" && in_model_) {
      mode_ = Mode::kVocab, mode_depth_ = depth_;
      return dom_.start_object(0);
    }
    return dom_.start_object(n);
  }
  bool key(string_t& v) override {
    if (mode_ == Mode::kVocab) {
      out_.vocab.emplace_back(std::move(v), 0);
      return true;
    }
    if (depth_ == 1) in_model_ = v == "model";
    last_key_ = v;
    return dom_.key(v);
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab && depth_ == mode_depth_) mode_ = Mode::kNone;
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) override {
    if (++depth_ > kMaxJsonDepth) return too_deep();
    if (mode_ == Mode::kMerges) {
      if (depth_ != mode_depth_ + 1) return fail();
      pair_.clear();
      return true;
    }
    if (depth_ == 3 && last_key_ == "merges" && in_model_) {
      mode_ = Mode::kMerges, mode_depth_ = depth_;
      return dom_.start_array(0);
    }
    return dom_.start_array(n);
  }
  bool end_array() override {
    if (mode_ == Mode::kMerges && depth_ == mode_depth_ + 1) {
      --depth_;
      if (pair_.size() != 2) return fail();
      out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      return true;
    }
    if (mode_ == Mode::kMerges && depth_ == mode_depth_) mode_ = Mode::kNone;
    --depth_;
    return dom_.end_array();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  enum class Mode { kNone, kVocab, kMerges };
  bool capturing() const { return mode_ != Mode::kNone; }
  bool too_deep() {
    error_ = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  bool fail() {
    if (error_.empty()) error_ = "unexpected value inside model.vocab or model.merges";
    return false;
  }
  bool vocab_id(int64_t v) {
    if (mode_ != Mode::kVocab || out_.vocab.empty()) return fail();
    if (v < 0 || v > std::numeric_limits<int32_t>::max()) {  // a wrapped id would shadow another token
      error_ = "model.vocab: id " + std::to_string(v) + " of '" + out_.vocab.back().first + "' is outside [0, 2^31)";
      return false;
    }
    out_.vocab.back().second = static_cast<int32_t>(v);
    return true;
  }
  bool merge_string(std::string& v) {
    if (depth_ == mode_depth_ + 1) {  // ["a", "b"]
      pair_.push_back(std::move(v));
      return true;
    }
    const size_t space = v.find(' ', 1);
    if (space == std::string::npos) {
      error_ = "BPE merge '" + v + "' is not 'a b'";
      return false;
    }
    out_.merges.emplace_back(v.substr(0, space), v.substr(space + 1));
    return true;
  }

  TokenizerJson& out_;
  Dom dom_;
  Mode mode_ = Mode::kNone;
  int depth_ = 0, mode_depth_ = 0;
  bool in_model_ = false;  // inside the top-level "model" value
  std::string last_key_, error_;
  std::vector<std::string> pair_;
};

}  // namespace

TokenizerJson read_tokenizer_json(const std::filesystem::path& file) {
  const std::string text = read_regular_file(file);
  TokenizerJson out;
  Handler handler(out);
  if (!json::sax_parse(text, &handler) || !out.doc.is_object()) {
    TLM_FAIL(kInvalidArgument) << file.string() << " is not a valid tokenizer.json"
                               << (handler.error().empty() ? "" : ": " + handler.error());
  }
  return out;
}

}  // namespace turbolm
