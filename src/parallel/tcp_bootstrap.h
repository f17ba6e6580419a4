// Multi-node bootstrap (`--nnodes N --node-rank R --dist-init-addr HOST:PORT`): node 0 makes the NCCL unique id
// and hands it to every other node over a small TCP exchange; then each process joins the NCCL group with
// global rank node_rank * gpus_per_node + local_rank (docs/tensor_parallel.md). Plain POSIX sockets, no CUDA.
#pragma once

#include <string>
#include <vector>

namespace turbolm {

struct TcpBootstrap {
  std::string dist_init_addr;  // "host:port" of node 0 (node 0 listens on that port, all interfaces)
  int nnodes = 1;
  int node_rank = 0;
  int timeout_s = 300;  // how long node 0 waits for the others, and the others retry connecting
};

struct HostPort {
  std::string host;  // a name or an address; "[v6]" loses its brackets
  int port = 0;      // 1..65535
};

// "HOST:PORT" -> its parts; anything else is an InvalidArgument naming --dist-init-addr.
HostPort parse_dist_init_addr(const std::string& addr);

// --nnodes / --node-rank / --dist-init-addr against --tp, before anything starts; InvalidArgument naming the
// flag: nnodes >= 1, node_rank in [0, nnodes), tp a multiple of nnodes (each node drives tp / nnodes GPUs),
// an address exactly when nnodes > 1.
void check_node_layout(int tp, const TcpBootstrap& nodes);

// Returns node 0's `payload` on every node (node 0 returns it once all nnodes - 1 others received it; the
// others ignore their own `payload`). Throws InvalidArgument for a bad address or rank and when the nodes do not
// meet within timeout_s (a wrong address or --nnodes), Internal for a broken exchange.
std::vector<char> tcp_broadcast(const TcpBootstrap& bootstrap, const std::vector<char>& payload);

}  // namespace turbolm
