#include "parallel/nccl_communicator.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstdlib>
#include <cstring>

static_assert(sizeof(ncclUniqueId) == sizeof(turbolm::NcclUniqueId), "NcclUniqueId must hold ncclUniqueId");

#define TLM_NCCL_CHECK(expr)                                                               \
  do {                                                                                     \
    const ncclResult_t tlm_nccl_result_ = (expr);                                          \
    if (tlm_nccl_result_ != ncclSuccess)                                                   \
      TLM_FAIL(kInternal) << #expr << ": " << ncclGetErrorString(tlm_nccl_result_) << " (" \
                          << ncclGetLastError(nullptr) << ")";                             \
  } while (0)

#define TLM_CUDA_RT_CHECK(expr)                                                                                        \
  do {                                                                                                                 \
    const cudaError_t tlm_cuda_result_ = (expr);                                                                       \
    if (tlm_cuda_result_ != cudaSuccess) TLM_FAIL(kInternal) << #expr << ": " << cudaGetErrorString(tlm_cuda_result_); \
  } while (0)

namespace turbolm {
namespace {

ncclDataType_t nccl_dtype(DType dtype) {
  switch (dtype) {
    case DType::kF32: return ncclFloat32;
    case DType::kF16: return ncclFloat16;
    case DType::kBF16: return ncclBfloat16;
    default: TLM_FAIL(kUnsupported) << "NCCL collective of " << dtype_name(dtype);
  }
  return ncclFloat32;  // unreachable: TLM_FAIL throws
}

ncclComm_t handle(void* comm) { return static_cast<ncclComm_t>(comm); }
cudaStream_t stream_of(const ExecContext& ctx) { return static_cast<cudaStream_t>(ctx.stream); }

}  // namespace

void disable_nccl_nvls_unless_set() { ::setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0); }

NcclUniqueId nccl_unique_id() {
  disable_nccl_nvls_unless_set();
  ncclUniqueId id;
  TLM_NCCL_CHECK(ncclGetUniqueId(&id));
  NcclUniqueId out;
  std::memcpy(out.data(), &id, sizeof(id));
  return out;
}

NcclCommunicator::NcclCommunicator(void* comm, int rank, int size, int device)
    : comm_(comm), rank_(rank), size_(size), device_(device) {}

NcclCommunicator::NcclCommunicator(const NcclUniqueId& id, int rank, int size, int device)
    : comm_(nullptr), rank_(rank), size_(size), device_(device) {
  TLM_CHECK_ARG(size >= 1 && rank >= 0 && rank < size) << "bad NCCL rank " << rank << " of " << size;
  disable_nccl_nvls_unless_set();
  TLM_CUDA_RT_CHECK(cudaSetDevice(device));
  ncclUniqueId nid;
  std::memcpy(&nid, id.data(), sizeof(nid));
  ncclComm_t comm;
  TLM_NCCL_CHECK(ncclCommInitRank(&comm, size, nid, rank));
  comm_ = comm;
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ != nullptr && !aborted_) ncclCommDestroy(handle(comm_));
}

void NcclCommunicator::abort() {
  if (aborted_.exchange(true)) return;
  ncclCommAbort(handle(comm_));  // best effort: the group is being torn down because a rank already failed
}

void NcclCommunicator::check_not_aborted() const {
  if (aborted_) TLM_FAIL(kCancelled) << "NCCL rank " << rank_ << ": the group was aborted after a rank failed";
}

std::vector<std::unique_ptr<NcclCommunicator>> NcclCommunicator::create_local_group(int size) {
  int devices = 0;
  TLM_CUDA_RT_CHECK(cudaGetDeviceCount(&devices));
  TLM_CHECK_ARG(size >= 1 && size <= devices)
      << "--tp " << size << " needs " << size << " GPUs; " << devices << " visible";
  disable_nccl_nvls_unless_set();
  std::vector<ncclComm_t> comms(size);
  std::vector<int> ordinals(size);
  for (int r = 0; r < size; ++r) ordinals[r] = r;
  TLM_NCCL_CHECK(ncclCommInitAll(comms.data(), size, ordinals.data()));
  std::vector<std::unique_ptr<NcclCommunicator>> out;
  for (int r = 0; r < size; ++r) out.emplace_back(new NcclCommunicator(comms[r], r, size, r));
  return out;
}

void NcclCommunicator::all_reduce_sum(const ExecContext& ctx, Tensor& x) {
  check_not_aborted();
  TLM_CHECK(x.device() == Device::cuda(device_) && x.is_contiguous())
      << "NCCL all_reduce_sum of " << x.to_string() << " on rank " << rank_ << " (cuda:" << device_ << ")";
  TLM_NCCL_CHECK(ncclAllReduce(x.data(), x.data(), static_cast<size_t>(x.numel()), nccl_dtype(x.dtype()), ncclSum,
                               handle(comm_), stream_of(ctx)));
}

void NcclCommunicator::all_gather(const ExecContext& ctx, const Tensor& shard, Tensor& full) {
  check_not_aborted();
  check_all_gather_shapes(shard, full, size_);
  TLM_CHECK(shard.device() == Device::cuda(device_) && full.device() == shard.device())
      << "NCCL all_gather of " << shard.to_string() << " on rank " << rank_ << " (cuda:" << device_ << ")";
  const int64_t rows = shard.dim(0);
  const size_t count = static_cast<size_t>(shard.numel());
  const ncclDataType_t type = nccl_dtype(shard.dtype());
  if (rows == 1) {  // decode of one sequence: rank-major is already [1, size*C]
    TLM_NCCL_CHECK(ncclAllGather(shard.data(), full.data(), count, type, handle(comm_), stream_of(ctx)));
    return;
  }
  // NCCL concatenates whole buffers rank after rank: gather [size, R, C], then copy each rank's [R, C] block
  // into its column range of full with one strided 2-D copy.
  const int64_t bytes = static_cast<int64_t>(full.nbytes());
  if (!staging_.defined() || staging_.numel() < bytes) staging_ = Tensor::empty({bytes}, DType::kU8, full.device());
  TLM_NCCL_CHECK(ncclAllGather(shard.data(), staging_.data(), count, type, handle(comm_), stream_of(ctx)));
  const size_t block_bytes = shard.nbytes(), row_bytes = block_bytes / static_cast<size_t>(rows);
  for (int r = 0; r < size_; ++r) {
    TLM_CUDA_RT_CHECK(cudaMemcpy2DAsync(static_cast<char*>(full.data()) + r * row_bytes, row_bytes * size_,
                                        static_cast<const char*>(staging_.data()) + r * block_bytes, row_bytes,
                                        row_bytes, static_cast<size_t>(rows), cudaMemcpyDeviceToDevice,
                                        stream_of(ctx)));
  }
}

void NcclLocalGroup::bind_thread(int r) { TLM_CUDA_RT_CHECK(cudaSetDevice(comms_.at(r)->device())); }

void NcclLocalGroup::abort() {
  for (auto& comm : comms_) comm->abort();
}

}  // namespace turbolm
