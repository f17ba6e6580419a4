// Fuzzes the HTTP server's request parsing and validation: every body must either parse or raise a 400-class
// ApiError; any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/api_error.h"
#include "server/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the endpoint, so one corpus covers all six parsers.
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 6) {
      case 0: turbolm::server::parse_chat_completion(body); break;
      case 1: turbolm::server::parse_completion(body); break;
      case 2: turbolm::server::parse_encode(body); break;
      case 3: turbolm::server::parse_generate(body); break;
      case 4: turbolm::server::parse_abort(body); break;
      case 5: turbolm::server::parse_get_ppl(body); break;
    }
  } catch (const turbolm::server::ApiError& e) {
    if (e.status() != 400) __builtin_trap();  // bad input is always a 400
  }
  return 0;
}
