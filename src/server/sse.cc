#include "server/sse.h"

namespace turbolm::server {

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_sse_event(std::string& out, const nlohmann::json& data) {
  out += "data: ";
  out += dump_json(data);  // JSON text never contains a raw newline, so one data line suffices
  out += "\n\n";
}

std::string sse_event(const nlohmann::json& data) {
  std::string out;
  append_sse_event(out, data);
  return out;
}

std::string_view sse_done() { return "data: [DONE]\n\n"; }

}  // namespace turbolm::server
