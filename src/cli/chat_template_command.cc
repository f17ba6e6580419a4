// `turbolm chat-template (--model DIR | --template FILE|NAME) --context FILE.json`: prints the rendered
// prompt, so a template can be checked against transformers' apply_chat_template without running a model.
#include <cstdio>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "core/error.h"
#include "io/json_file.h"

namespace turbolm::cli {
namespace {

struct Options {
  std::string model;
  std::string template_spec;
  std::string template_name;
  std::string context;
};

void run(const Options& o) {
  TLM_CHECK_ARG(o.model.empty() != o.template_spec.empty()) << "pass exactly one of --model DIR or --template FILE";
  ChatTemplate tmpl = o.model.empty() ? ChatTemplate::from_spec(o.template_spec)
                                      : ChatTemplate::from_model_dir(o.model, o.template_name);
  const nlohmann::ordered_json context =
      parse_json_text<nlohmann::ordered_json>(read_regular_file(o.context), o.context);
  TLM_CHECK_ARG(context.is_object()) << o.context << ": the context must be a JSON object";
  // Known keys map to the inputs; everything else (bos_token, enable_thinking, ...) is a template variable.
  ChatTemplateInputs in;
  in.add_generation_prompt = false;  // transformers' default
  in.extra = nlohmann::ordered_json::object();
  for (auto it = context.begin(); it != context.end(); ++it) {
    const std::string& k = it.key();
    if (k == "messages") {
      in.messages = it.value();
    } else if (k == "tools") {
      in.tools = it.value();
    } else if (k == "documents") {
      in.documents = it.value();
    } else if (k == "add_generation_prompt") {
      in.add_generation_prompt = it.value().is_boolean() && it.value().get<bool>();
    } else if (k == "continue_final_message") {
      in.continue_final_message = it.value().is_boolean() && it.value().get<bool>();
    } else {
      in.extra[k] = it.value();
    }
  }
  if (in.messages.is_null()) in.messages = nlohmann::ordered_json::array();
  std::string prompt = tmpl.render(in);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
}

void add(CLI::App& app) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("chat-template", "Render a chat template over a conversation (JSON) to stdout");
  CLI::Option* model = cmd->add_option("--model", opts->model, "Hugging Face model folder holding the chat template");
  cmd->add_option("--template,--chat-template", opts->template_spec,
                  "a .jinja file, a ChatTemplateConfig .json file or a built-in name");
  // Without --model there is no folder to pick a named template from: refused instead of ignored.
  cmd->add_option("--name", opts->template_name, "named template in the model folder (e.g. tool_use)")->needs(model);
  cmd->add_option("--context", opts->context, "JSON: messages, add_generation_prompt, tools, bos_token, ...")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->footer(
      "Example (context.json: {\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
      "\"add_generation_prompt\": true}):\n"
      "  turbolm chat-template --model DIR --context context.json");
  cmd->callback([opts] { run(*opts); });
}

TLM_REGISTER_COMMAND(60, add);

}  // namespace
}  // namespace turbolm::cli
