// Chat-template rendering cost: a 100-message conversation (with tools) through real templates,
// parsed once and rendered per iteration, plus the one-time parse cost.
//   build-chat/bench/chat_template_bench [--benchmark_filter=Render]
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "chat/chat_template.h"

namespace {

std::string read_template(const std::string& stem) {
  std::ifstream f(std::string(TURBOLM_SHARED_DIR) + "/templates/" + stem + ".jinja", std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

turbolm::ChatTemplateInputs conversation(int n_messages) {
  using ojson = nlohmann::ordered_json;
  turbolm::ChatTemplateInputs in;
  in.messages = ojson::array();
  in.messages.push_back({{"role", "system"}, {"content", "You are a helpful assistant. Answer briefly."}});
  for (int i = 1; i < n_messages; ++i) {
    bool user = i % 2 == 1;
    in.messages.push_back({{"role", user ? "user" : "assistant"},
                           {"content", (user ? "Question number " : "Here is answer number ") + std::to_string(i) +
                                           ", with some more words to make a realistic turn length."}});
  }
  in.tools = ojson::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "description": "Get the weather", "parameters": {"type": "object",
      "properties": {"location": {"type": "string"}}, "required": ["location"]}}}])");
  return in;
}

const char* kTemplates[] = {"Qwen-Qwen2.5-7B-Instruct", "Qwen-Qwen3-0.6B", "meta-llama-Llama-3.1-8B-Instruct",
                            "openai-gpt-oss-120b", "internlm-internlm2-chat-7b"};

void BM_Render100(benchmark::State& state) {
  auto tmpl = turbolm::ChatTemplate::from_jinja(read_template(kTemplates[state.range(0)]));
  tmpl.set_special_tokens("<s>", "</s>");
  auto in = conversation(100);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = tmpl.render(in);
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetLabel(std::string(kTemplates[state.range(0)]) + " (" + std::to_string(bytes) + " bytes out)");
}
BENCHMARK(BM_Render100)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

void BM_Parse(benchmark::State& state) {
  std::string source = read_template(kTemplates[state.range(0)]);
  for (auto _ : state) benchmark::DoNotOptimize(turbolm::jinja::Template::parse(source));
  state.SetLabel(kTemplates[state.range(0)]);
}
BENCHMARK(BM_Parse)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

void BM_ConfigRender100(benchmark::State& state) {
  auto tmpl = turbolm::ChatTemplate::from_spec("internlm2");
  auto in = conversation(100);
  for (auto _ : state) benchmark::DoNotOptimize(tmpl.render(in));
  state.SetLabel("internlm2 ChatTemplateConfig");
}
BENCHMARK(BM_ConfigRender100)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
