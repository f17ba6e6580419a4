// Parses one rope scaling object: transformers-4 `rope_scaling` or transformers-5 `rope_parameters`.
#pragma once

#include <cstdint>

#include "io/json_fields.h"
#include "io/model_config.h"

namespace turbolm {

// `fields` wraps the object; `max_position_embeddings` is the fallback for original_max_position_embeddings.
// Throws kInvalidArgument for missing/ill-typed parameters, kUnsupported for an unknown rope type.
RopeScaling parse_rope_scaling(const JsonFields& fields, int64_t max_position_embeddings);

}  // namespace turbolm
