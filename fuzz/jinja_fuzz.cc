// libFuzzer target over the Jinja engine: parse arbitrary bytes as a template and render it over a
// small chat context. Only turbolm::Error may escape; limits keep hostile inputs short.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat/jinja/template.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json context = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "héllo 中文"},
                 {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
  turbolm::jinja::RenderOptions options;
  options.limits.max_output_bytes = 1 << 20;
  options.limits.max_loop_iterations = 100000;
  options.limits.max_call_depth = 32;
  try {
    auto t = turbolm::jinja::Template::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    t.render(context, options);
  } catch (const turbolm::Error&) {
    // Syntax and render errors are expected outcomes for random input.
  }
  return 0;
}
