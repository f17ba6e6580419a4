// The decoding flags of `generate` and `chat`: any sampling flag turns sampling on (chat used to ignore
// --temperature / --top-k / --seed without --do-sample and decode greedily), and bad values are refused when the
// flags are applied, before a model is loaded (chat used to start and then fail every turn).
#include "cli/sampling_options.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace turbolm::cli {
namespace {

GenerationConfig parse(const std::string& args) {
  CLI::App app;
  GenerationConfig gen;
  const SamplingFlags flags = add_sampling_options(app, gen);
  app.parse(args);
  apply_sampling_options(flags, gen);
  return gen;
}

TEST(SamplingOptions, GreedyWithoutSamplingFlags) {
  const GenerationConfig gen = parse("--max-new-tokens 7 --repetition-penalty 1.1");
  EXPECT_FALSE(gen.do_sample);
  EXPECT_EQ(gen.max_new_tokens, 7);
  EXPECT_FALSE(gen.random_seed.has_value());
}

TEST(SamplingOptions, AnySamplingFlagSamples) {
  for (const char* args : {"--do-sample", "--temperature 0.7", "--top-k 5", "--top-p 0.9", "--min-p 0.1"})
    EXPECT_TRUE(parse(args).do_sample) << args;
  const GenerationConfig seeded = parse("--seed 18446744073709551615");
  EXPECT_TRUE(seeded.do_sample);
  EXPECT_EQ(seeded.random_seed, 18446744073709551615ull);
}

TEST(SamplingOptions, BadValuesAreRefusedWhenApplied) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--max-new-tokens 0", "max_new_tokens must be >= 1"},
      {"--max-new-tokens -3", "max_new_tokens must be >= 1"},
      {"--top-p 3", "top_p must be in (0, 1]"},
      {"--top-k -1", "top_k must be >= 0"},
      {"--min-p 2", "min_p must be in [0, 1]"},
      {"--repetition-penalty 0", "repetition_penalty must be a finite number > 0"},
      {"--repetition-penalty inf", "repetition_penalty must be a finite number > 0"},
      {"--temperature inf", "temperature must be a finite number >= 0"},
      {"--temperature 0", "--temperature must be > 0"},
      {"--do-sample --temperature nan", "--temperature must be > 0"},
  };
  for (const auto& [args, message] : cases) {
    try {
      parse(args);
      ADD_FAILURE() << args << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << args;
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << args << ": " << e.what();
    }
  }
}

TEST(SamplingOptions, HelpShowsTheDefaults) {
  CLI::App app;
  GenerationConfig gen;
  add_sampling_options(app, gen);
  const std::string help = app.help();
  for (const char* text : {"--temperature FLOAT=0.8", "--top-k INT=50", "--top-p FLOAT=1", "--min-p FLOAT=0"})
    EXPECT_NE(help.find(text), std::string::npos) << text << " in\n" << help;
}

}  // namespace
}  // namespace turbolm::cli
