// A startup check of --tool-call-parser / --reasoning-parser against the served model's tokenizer: a model trained
// for a format has its tags as single tokens; where they are not, the parser most likely does not match the model
// (LMDeploy refuses a reasoning parser whose tags the tokenizer lacks; we warn and serve).
#pragma once

#include <string>
#include <vector>

#include "server/server_config.h"
#include "turbolm/engine.h"

namespace turbolm::server {

// One message per tag of the configured parsers that the tokenizer does not encode as one token (none without a
// tokenizer: the server then takes token ids only).
std::vector<std::string> parser_marker_warnings(const Engine& engine, const ServerConfig& config);

}  // namespace turbolm::server
