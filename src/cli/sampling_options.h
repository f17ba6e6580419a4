// The decoding flags `generate` and `chat` share (LMDeploy's names). Decoding is greedy unless a sampling flag
// is given: any of them (--do-sample, --temperature, --top-k, --top-p, --min-p, --seed) turns sampling on, so
// `--temperature 0.7` alone samples instead of being silently ignored.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

#include "turbolm/generation_config.h"

namespace turbolm::cli {

struct SamplingFlags {
  std::vector<CLI::Option*> sampling;  // given on the command line = sample
  CLI::Option* seed = nullptr;         // parsed as text: CLI11 would saturate seeds past 2^64 - 1
};

// Adds --max-new-tokens, the sampling flags and --repetition-penalty, writing into `gen`.
SamplingFlags add_sampling_options(CLI::App& cmd, GenerationConfig& gen);

// After parsing: sets do_sample and the seed from the flags given, then checks the settings (turbolm::Error,
// kInvalidArgument), so a bad value is refused before a model is loaded.
void apply_sampling_options(const SamplingFlags& flags, GenerationConfig& gen);

}  // namespace turbolm::cli
