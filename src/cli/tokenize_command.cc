// `turbolm tokenize --model DIR [--add-special] [--decode] [--json]`: text on stdin -> ids, or ids -> text.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/stdin_input.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace turbolm::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  bool add_special = false;
  bool decode = false;
  bool json = false;
  bool skip_special = false;
};

// Ids on stdin: whitespace/comma separated, or a JSON array, or {"ids": [...]}; each in [0, vocab_size).
std::vector<int32_t> parse_ids(const std::string& input, int64_t vocab_size) {
  std::vector<int32_t> ids;
  auto outside = [&](const std::string& id) {
    TLM_FAIL(kInvalidArgument) << "tokenize --decode: token id " << id << " is outside the vocabulary [0, "
                               << vocab_size << ")";
  };
  auto add = [&](int64_t id) {
    if (id < 0 || id >= vocab_size) outside(std::to_string(id));
    ids.push_back(static_cast<int32_t>(id));
  };
  auto j = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && (j.is_array() || (j.is_object() && j.contains("ids")))) {
    for (const auto& v : j.is_array() ? j : j["ids"]) {
      TLM_CHECK_ARG(v.is_number_integer()) << "tokenize --decode: ids must be integers";
      // Beyond int64 the JSON parser keeps a float: refused above; unsigned ids past int64 read negative.
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) outside(v.dump());
      add(v.get<int64_t>());
    }
    return ids;
  }
  std::string cleaned = input;
  for (char& c : cleaned)
    if (c == ',' || c == '[' || c == ']') c = ' ';
  std::istringstream in(cleaned);
  std::string word;
  while (in >> word) {
    int64_t id = 0;
    try {
      size_t used = 0;
      id = std::stoll(word, &used);
      TLM_CHECK_ARG(used == word.size()) << "tokenize --decode: '" << word << "' is not a token id";
    } catch (const std::out_of_range&) {
      outside(word);
    } catch (const std::invalid_argument&) {
      TLM_FAIL(kInvalidArgument) << "tokenize --decode: '" << word << "' is not a token id";
    }
    add(id);
  }
  return ids;
}

// A folder without tokenizer files is the wrong --model for this command: a usage error (exit 2), as generate and
// chat report it; a tokenizer file that cannot be read stays a failure (exit 1).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model) {
  try {
    return Tokenizer::from_dir(model);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kNotFound) throw;
    throw Error(ErrorCode::kInvalidArgument, e.what());
  }
}

void run(const TokenizeOptions& opt) {
  auto tok = load_tokenizer(opt.model);
  const std::string input = read_all_stdin();
  if (opt.decode) {
    const std::string text = tok->decode(parse_ids(input, tok->vocab_size()), opt.skip_special);
    if (opt.json) {
      std::cout << nlohmann::json{{"text", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    } else {
      std::cout << text;
    }
    return;
  }
  const auto ids = tok->encode(input, opt.add_special);
  if (opt.json) {
    std::cout << nlohmann::json{{"ids", ids}}.dump() << "\n";
    return;
  }
  for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << "\n";
}

void add_tokenize_command(CLI::App& app) {
  auto opt = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Encode stdin text to token ids (or decode ids with --decode)");
  cmd->add_option("--model,model", opt->model, "Model folder with tokenizer.json / tokenizer.model")
      ->required()
      ->check(CLI::ExistingDirectory);
  CLI::Option* decode = cmd->add_flag("--decode", opt->decode, "Read token ids on stdin and print the decoded text");
  // Flags that would be ignored are refused (CLI11 names both).
  cmd->add_flag("--add-special", opt->add_special, "Add the special tokens the post-processor defines (e.g. BOS)")
      ->excludes(decode);
  cmd->add_flag("--skip-special", opt->skip_special, "With --decode: drop special tokens")->needs(decode);
  cmd->add_flag("--json", opt->json, "Print {\"ids\": [...]} (or {\"text\": ...} with --decode)");
  cmd->footer(
      "Examples:\n  echo 'Shanghai is' | turbolm tokenize --model DIR --add-special\n"
      "  echo '1 2 3' | turbolm tokenize --model DIR --decode");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace

TLM_REGISTER_COMMAND(60, add_tokenize_command);

}  // namespace turbolm::cli
