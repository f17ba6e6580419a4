// Server-sent events framing for streamed responses (one `data:` line per JSON chunk, blank line after).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace turbolm::server {

// "data: <json>\n\n". Invalid UTF-8 in token strings is replaced, never thrown on.
std::string sse_event(const nlohmann::json& data);
void append_sse_event(std::string& out, const nlohmann::json& data);
// The OpenAI terminator "data: [DONE]\n\n".
std::string_view sse_done();

// Compact JSON for response bodies, replacing invalid UTF-8 (a single token may be half a character).
std::string dump_json(const nlohmann::json& value);

}  // namespace turbolm::server
