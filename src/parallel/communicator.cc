#include "parallel/communicator.h"

namespace turbolm {

void check_all_gather_shapes(const Tensor& shard, const Tensor& full, int size) {
  TLM_CHECK(shard.rank() == 2 && full.rank() == 2)
      << "all_gather takes [R, C] -> [R, size*C], got " << shard.to_string() << " -> " << full.to_string();
  TLM_CHECK(shard.is_contiguous() && full.is_contiguous()) << "all_gather needs contiguous tensors";
  TLM_CHECK(shard.dtype() == full.dtype()) << shard.to_string() << " -> " << full.to_string();
  TLM_CHECK(full.dim(0) == shard.dim(0) && full.dim(1) == shard.dim(1) * size)
      << "all_gather over " << size << " ranks: " << shard.to_string() << " -> " << full.to_string();
}

}  // namespace turbolm
