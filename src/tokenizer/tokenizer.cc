#include "tokenizer/tokenizer.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/logging.h"
#include "io/json_file.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace turbolm {

namespace fs = std::filesystem;
using nlohmann::json;

Tokenizer::Tokenizer(std::unique_ptr<TokenizerPipeline> pipeline) : pipeline_(std::move(pipeline)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_dir(const fs::path& model_dir) {
  std::unique_ptr<TokenizerPipeline> pipeline;
  bool sentencepiece = false;
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec))
    TLM_FAIL(kNotFound) << "model folder " << model_dir.string()
                        << (fs::exists(model_dir, ec) ? " is not a folder" : " does not exist");
  if (fs::exists(model_dir / "tokenizer.json")) {
    pipeline = load_tokenizer_json(model_dir / "tokenizer.json");
  } else if (fs::exists(model_dir / "tokenizer.model")) {
    pipeline = load_sentencepiece_model(model_dir / "tokenizer.model");
    sentencepiece = true;
  } else if (fs::exists(model_dir / "vocab.json") && fs::exists(model_dir / "merges.txt")) {
    pipeline = load_vocab_and_merges(model_dir / "vocab.json", model_dir / "merges.txt");
  } else {
    TLM_FAIL(kNotFound) << model_dir.string() << " has no tokenizer.json, tokenizer.model or vocab.json + merges.txt";
  }
  std::unique_ptr<Tokenizer> tok(new Tokenizer(std::move(pipeline)));
  tok->read_config(model_dir / "tokenizer_config.json", sentencepiece);
  return tok;
}

namespace {

// tokenizer_config.json writes special tokens as "text" or as a serialized AddedToken {"content": "text", ...}.
std::string token_string(const json& config, const char* key) {
  if (!config.contains(key)) return {};
  const auto& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return {};
}

}  // namespace

void Tokenizer::read_config(const fs::path& config_file, bool sentencepiece) {
  json config = json::object();
  if (fs::exists(config_file)) {
    config = parse_json_text<json>(read_regular_file(config_file), config_file.string());
    if (!config.is_object()) TLM_FAIL(kInvalidArgument) << config_file.string() << " is not a JSON object";
  }
  try {
    if (config.contains("added_tokens_decoder")) {
      for (const auto& [id, t] : config["added_tokens_decoder"].items()) {
        pipeline_->added.add({t.at("content").get<std::string>(), std::stoi(id), t.value("special", false),
                              t.value("lstrip", false), t.value("rstrip", false), t.value("normalized", false),
                              t.value("single_word", false)});
      }
    }
    // For tokenizer.json, transformers (5.x) uses the file's post-processor as is; for a bare SentencePiece model,
    // LlamaTokenizer-style add_bos_token (default true) / add_eos_token (default false) decide.
    const std::string bos = token_string(config, "bos_token"), eos = token_string(config, "eos_token");
    if (sentencepiece) {
      auto& specials = pipeline_->special_tokens;
      const bool add_bos = config.value("add_bos_token", true), add_eos = config.value("add_eos_token", false);
      if (!add_bos) specials.prefix.clear();
      if (add_eos) {
        const int32_t eos_id = eos.empty() ? 2 : token_to_id(eos).value_or(2);
        specials.suffix.assign(1, eos_id);
      }
      if (!bos.empty() && add_bos)
        if (auto id = token_to_id(bos)) specials.prefix.assign(1, *id);
    }
  } catch (const json::exception& e) {
    TLM_FAIL(kInvalidArgument) << config_file.string() << ": unexpected structure: " << e.what();
  } catch (const std::logic_error& e) {
    TLM_FAIL(kInvalidArgument) << config_file.string() << ": bad added_tokens_decoder id: " << e.what();
  }
  pipeline_->added.build(pipeline_->normalizer.get());

  auto resolve = [&](const char* key, const char* fallback, std::string& token, std::optional<int32_t>& id) {
    token = token_string(config, key);
    if (token.empty() && !config.contains(key) && fallback) token = fallback;
    if (!token.empty()) id = token_to_id(token);
    if (!token.empty() && !id) {
      TLM_LOG_WARNING("{}: {} '{}' is not in the vocabulary", config_file.string(), key, token);
      token.clear();
    }
  };
  const bool gpt2 = !sentencepiece && pipeline_->added.find("<|endoftext|>") && !fs::exists(config_file);
  std::string pad, unk;
  resolve("bos_token", sentencepiece ? "<s>" : gpt2 ? "<|endoftext|>" : nullptr, bos_token_, bos_id_);
  resolve("eos_token", sentencepiece ? "</s>" : gpt2 ? "<|endoftext|>" : nullptr, eos_token_, eos_id_);
  resolve("pad_token", nullptr, pad, pad_id_);
  resolve("unk_token", sentencepiece ? "<unk>" : gpt2 ? "<|endoftext|>" : nullptr, unk, unk_id_);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const TokenizerPipeline& p = *pipeline_;
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = p.special_tokens.prefix;
  const std::string valid = unicode::to_valid_utf8(text);
  std::vector<PreToken> pieces;
  for (auto& part : p.added.split(valid, p.normalizer.get())) {
    if (part.id >= 0) {
      ids.push_back(part.id);
      continue;
    }
    pieces.clear();
    pieces.push_back({std::move(part.text), part.at_start});
    if (p.pre_tokenizer) p.pre_tokenizer->pre_tokenize(pieces);
    for (const auto& piece : pieces) p.model->tokenize(piece.text, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), p.special_tokens.suffix.begin(), p.special_tokens.suffix.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens,
                              bool /*spaces_between_special_tokens*/) const {
  const TokenizerPipeline& p = *pipeline_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* added = p.added.find(id)) {
      if (!(skip_special_tokens && added->special)) tokens.push_back(added->content);
    } else if (const std::string* token = p.model->id_to_token(id)) {
      tokens.push_back(*token);
    }  // unknown ids are skipped, as tokenizers does
  }
  if (!p.decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  p.decoder->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

int32_t Tokenizer::vocab_size() const {
  int32_t size = pipeline_->model->vocab_size();
  for (const auto& t : pipeline_->added.tokens()) size = std::max(size, t.id + 1);
  return size;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* added = pipeline_->added.find(token)) return added->id;
  return pipeline_->model->token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* added = pipeline_->added.find(id)) return added->content;
  const std::string* token = pipeline_->model->id_to_token(id);
  return token ? *token : std::string();
}

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* added = pipeline_->added.find(id);
  return added && added->special;
}

bool Tokenizer::is_byte_fallback(int32_t id) const { return pipeline_->byte_fallback_ids.count(id) > 0; }

}  // namespace turbolm
