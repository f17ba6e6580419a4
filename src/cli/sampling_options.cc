#include "cli/sampling_options.h"

#include "cli/validators.h"
#include "core/error.h"

namespace turbolm::cli {

SamplingFlags add_sampling_options(CLI::App& cmd, GenerationConfig& g) {
  cmd.add_option("--max-new-tokens", g.max_new_tokens, "tokens to generate at most")->capture_default_str();
  SamplingFlags flags;
  flags.sampling = {
      cmd.add_flag("--do-sample", g.do_sample, "sample instead of greedy decoding (any sampling flag implies it)"),
      cmd.add_option("--temperature", g.temperature, "sampling temperature (> 0)")->capture_default_str(),
      cmd.add_option("--top-k", g.top_k, "keep the k most likely tokens (0 = off)")->capture_default_str(),
      cmd.add_option("--top-p", g.top_p, "nucleus sampling mass (1 = off)")->capture_default_str(),
      cmd.add_option("--min-p", g.min_p, "drop tokens below min_p x the top probability (0 = off)")
          ->capture_default_str(),
  };
  flags.seed =
      cmd.add_option("--seed", "random seed (same seed, same output)")->type_name("UINT64")->check(uint64_value());
  flags.sampling.push_back(flags.seed);
  cmd.add_option("--repetition-penalty", g.repetition_penalty, "HF repetition penalty (1 = off)")
      ->capture_default_str();
  return flags;
}

void apply_sampling_options(const SamplingFlags& flags, GenerationConfig& gen) {
  for (const CLI::Option* flag : flags.sampling) gen.do_sample = gen.do_sample || flag->count() > 0;
  if (flags.seed->count() > 0) gen.random_seed = flags.seed->as<uint64_t>();
  if (gen.do_sample) TLM_CHECK_ARG(gen.temperature > 0) << "--temperature must be > 0";
  validate(gen);
}

}  // namespace turbolm::cli
