// Loads tokenizer.json (Hugging Face tokenizers' serialization) and GPT-2 style vocab.json + merges.txt.
#include <fmt/format.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/json_file.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/json_loader.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/wordpiece_model.h"

namespace turbolm {
namespace {

using nlohmann::json;

json parse_json(const std::filesystem::path& file) {
  return parse_json_text<json>(read_regular_file(file), file.string());
}

Vocab read_vocab(const std::vector<std::pair<std::string, int32_t>>& entries) {
  Vocab result;
  result.reserve(entries.size());
  for (const auto& [token, id] : entries) result.add(token, id);
  return result;
}

Vocab read_vocab(const json& vocab) {
  Vocab result;
  result.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) result.add(it.key(), it.value().get<int32_t>());
  return result;
}

std::string optional_string(const json& spec, const char* key) {
  return spec.contains(key) && spec[key].is_string() ? spec[key].get<std::string>() : std::string();
}

std::unique_ptr<TokenizerModel> make_model(const json& spec, TokenizerJson& file, TokenizerPipeline& pipeline) {
  const std::string type = spec.value("type", std::string("BPE"));
  if (type == "BPE") {
    BpeOptions options;
    if (spec.contains("unk_token") && spec["unk_token"].is_string())
      options.unk_token = spec["unk_token"].get<std::string>();
    options.continuing_subword_prefix = optional_string(spec, "continuing_subword_prefix");
    options.end_of_word_suffix = optional_string(spec, "end_of_word_suffix");
    options.fuse_unk = spec.value("fuse_unk", false);
    options.byte_fallback = spec.value("byte_fallback", false);
    options.ignore_merges = spec.value("ignore_merges", false);
    Vocab vocab = read_vocab(file.vocab);
    if (options.byte_fallback)
      for (int b = 0; b < 256; ++b)
        if (auto id = vocab.find(fmt::format("<0x{:02X}>", b))) pipeline.byte_fallback_ids.insert(*id);
    return std::make_unique<BpeModel>(std::move(vocab), file.merges, std::move(options));
  }
  if (type == "WordPiece") {
    return std::make_unique<WordPieceModel>(read_vocab(file.vocab), spec.value("unk_token", std::string("[UNK]")),
                                            spec.value("continuing_subword_prefix", std::string("##")),
                                            spec.value("max_input_chars_per_word", 100));
  }
  TLM_FAIL(kUnsupported) << "tokenizer model type '" << type << "' is not supported (BPE and WordPiece are)";
}

}  // namespace

std::unique_ptr<TokenizerPipeline> load_tokenizer_json(const std::filesystem::path& file) {
  TokenizerJson parsed = read_tokenizer_json(file);
  const json& j = parsed.doc;
  auto pipeline = std::make_unique<TokenizerPipeline>();
  try {
    pipeline->normalizer = make_normalizer(j.value("normalizer", json()));
    pipeline->pre_tokenizer = make_pre_tokenizer(j.value("pre_tokenizer", json()));
    pipeline->model = make_model(j.at("model"), parsed, *pipeline);
    pipeline->decoder = make_decoder(j.value("decoder", json()));
    pipeline->special_tokens = parse_post_processor(j.value("post_processor", json()));
    for (const auto& t : j.value("added_tokens", json::array())) {
      const int64_t id = t.at("id").get<int64_t>();
      if (id < 0 || id > std::numeric_limits<int32_t>::max())
        TLM_FAIL(kInvalidArgument) << "added token '" << t.at("content").get<std::string>() << "' has id " << id
                                   << ", outside [0, 2^31)";
      pipeline->added.add({t.at("content").get<std::string>(), static_cast<int32_t>(id), t.value("special", false),
                           t.value("lstrip", false), t.value("rstrip", false), t.value("normalized", false),
                           t.value("single_word", false)});
    }
  } catch (const json::exception& e) {
    TLM_FAIL(kInvalidArgument) << file.string() << ": unexpected tokenizer.json structure: " << e.what();
  } catch (const Error& e) {
    throw Error(e.code(), file.string() + ": " + e.what());
  }
  pipeline->added.build(pipeline->normalizer.get());
  return pipeline;
}

std::unique_ptr<TokenizerPipeline> load_vocab_and_merges(const std::filesystem::path& vocab_json,
                                                         const std::filesystem::path& merges_txt) {
  auto pipeline = std::make_unique<TokenizerPipeline>();
  Vocab vocab = read_vocab(parse_json(vocab_json));
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream lines(read_regular_file(merges_txt));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const size_t space = line.find(' ', 1);
    if (space == std::string::npos)
      TLM_FAIL(kInvalidArgument) << merges_txt.string() << ": bad merge line '" << line << "'";
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  // GPT-2's end-of-text token is special in GPT2TokenizerFast.
  if (auto eot = vocab.find("<|endoftext|>")) pipeline->added.add({"<|endoftext|>", *eot, true});
  try {
    pipeline->model = std::make_unique<BpeModel>(std::move(vocab), merges, BpeOptions{});
  } catch (const Error& e) {
    throw Error(e.code(), merges_txt.string() + ": " + e.what());
  }
  pipeline->pre_tokenizer = make_byte_level_pre_tokenizer(/*add_prefix_space=*/false, /*use_regex=*/true);
  pipeline->decoder = make_decoder(json{{"type", "ByteLevel"}});
  pipeline->added.build(nullptr);
  return pipeline;
}

}  // namespace turbolm
