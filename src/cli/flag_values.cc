#include "cli/flag_values.h"

namespace turbolm::cli {

namespace {

// The option `word` (a name up to any '=') names in `command` or a command enclosing it; nullptr if none.
const CLI::Option* find_option(CLI::App* command, const std::string& word) {
  const std::string name = word.substr(0, word.find('='));
  for (; command != nullptr; command = command->get_parent())
    if (const CLI::Option* option = command->get_option_no_throw(name)) return option;
  return nullptr;
}

}  // namespace

std::string flag_given_as_value(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* command = &app;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") break;
    if (!word.starts_with("-")) {
      for (CLI::App* sub : command->get_subcommands([](CLI::App*) { return true; }))
        if (sub->check_name(word)) command = sub;
      continue;
    }
    if (word.find('=') != std::string::npos || i + 1 == args.size()) continue;
    const CLI::Option* option = find_option(command, word);
    if (option == nullptr || option->get_items_expected_min() == 0) continue;  // a flag, or unknown to CLI11
    const std::string& value = args[i + 1];
    if (value.starts_with("-") && find_option(command, value) != nullptr) {
      return word + " needs a value, but the next argument is the flag " + value + " (write " + word + "=" + value +
             " if that is the value)";
    }
    ++i;  // the value, whatever it says
  }
  return "";
}

}  // namespace turbolm::cli
