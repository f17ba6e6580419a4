#include "core/error.h"
#include "core/logging.h"
#include "io/weight_source.h"
#include "models/decoder_model.h"
#include "models/model.h"
#include "models/registry.h"
#include "parallel/communicator.h"

namespace turbolm {

std::unique_ptr<Model> load_model(const std::filesystem::path& model_dir, const LoadOptions& options) {
  ModelConfig config = ModelConfig::from_dir(model_dir);
  if (config.quantization)
    TLM_FAIL(kUnsupported) << model_dir.string() << ": quantized checkpoints (quant_method '"
                           << config.quantization->quant_method << "') are not supported yet";
  const FamilySpec& family = find_family(config.architecture);
  // CPU kernels compute straight from the loaded bytes: read them into huge-page memory (io/mapped_file.h).
  WeightSource source =
      WeightSource::open_dir(model_dir, options.device.is_cpu() ? FileAccess::kRead : FileAccess::kMap);
  const Communicator* comm = options.communicator;
  const DecoderShard shard = DecoderShard::make(config, comm ? comm->rank() : 0, comm ? comm->size() : 1);
  DecoderWeights weights = load_decoder_weights(config, family, source, options.device, shard);
  const DType act = options.activation_dtype.value_or(options.device.is_cpu() ? DType::kF32 : weights.embed.dtype());
  TLM_LOG_INFO("loaded {} ({} layers, hidden {}, {:.1f} MB of weights{}) from {} on {}", config.architecture,
               config.num_hidden_layers, config.hidden_size, weights.bytes() / 1e6,
               shard.split() ? fmt::format(", tp rank {} of {}", shard.rank, shard.size) : "", model_dir.string(),
               options.device.to_string());
  return std::make_unique<DecoderModel>(std::move(config), std::move(weights), options.device, act,
                                        options.communicator);
}

}  // namespace turbolm
