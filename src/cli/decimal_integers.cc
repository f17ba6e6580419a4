#include "cli/decimal_integers.h"

#include <cctype>
#include <string>

namespace turbolm::cli {

namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

CLI::Validator without_leading_zeros() {
  return CLI::Validator(
      [](std::string& text) {
        const size_t sign = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
        size_t first = sign;  // the first digit kept: a lone "0" stays
        while (first + 1 < text.size() && text[first] == '0' && is_digit(text[first + 1])) ++first;
        text.erase(sign, first - sign);
        return std::string();
      },
      "");  // no text in --help
}

}  // namespace

void read_integers_as_decimal(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const std::string type = option->get_type_name();
    if (type.starts_with("INT") || type.starts_with("UINT")) option->transform(without_leading_zeros());
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) read_integers_as_decimal(*sub);
}

}  // namespace turbolm::cli
