#include "tokenizer/post_processor.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace turbolm {

SpecialTokenTemplate parse_post_processor(const nlohmann::json& spec) {
  SpecialTokenTemplate result;
  if (spec.is_null()) return result;
  const std::string type = spec.at("type").get<std::string>();
  if (type == "ByteLevel") return result;
  if (type == "Sequence") {
    for (const auto& step : spec.at("processors")) {
      SpecialTokenTemplate part = parse_post_processor(step);
      // Each step wraps everything the previous steps produced.
      result.prefix.insert(result.prefix.begin(), part.prefix.begin(), part.prefix.end());
      result.suffix.insert(result.suffix.end(), part.suffix.begin(), part.suffix.end());
    }
    return result;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    result.prefix.push_back(spec.at("cls").at(1).get<int32_t>());
    result.suffix.push_back(spec.at("sep").at(1).get<int32_t>());
    return result;
  }
  if (type == "TemplateProcessing") {
    const auto& specials = spec.at("special_tokens");
    bool after_sequence = false;
    for (const auto& piece : spec.at("single")) {
      if (piece.contains("Sequence")) {
        after_sequence = true;
        continue;
      }
      const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
      if (!specials.contains(name))
        TLM_FAIL(kInvalidArgument) << "TemplateProcessing uses special token '" << name << "' it does not define";
      auto& target = after_sequence ? result.suffix : result.prefix;
      for (const auto& id : specials[name].at("ids")) target.push_back(id.get<int32_t>());
    }
    return result;
  }
  TLM_FAIL(kUnsupported) << "tokenizer post_processor type '" << type << "' is not supported";
}

}  // namespace turbolm
