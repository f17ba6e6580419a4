// The multi-node unique-id exchange, with every "node" a thread on the loopback interface.
#include "parallel/tcp_bootstrap.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "core/error.h"

namespace turbolm {
namespace {

// A port nobody listens on right now (the kernel's pick for an ephemeral bind).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(TcpBootstrap, Node0PayloadReachesEveryNode) {
  constexpr int kNodes = 3;
  const std::string addr = "127.0.0.1:" + std::to_string(free_port());
  const std::vector<char> id = {'u', 'n', 'i', 'q', '\0', 'i', 'd'};
  std::vector<std::vector<char>> got(kNodes);
  std::vector<std::thread> nodes;
  // Joiners first: they must retry until node 0 listens.
  for (int n = kNodes - 1; n >= 0; --n) {
    nodes.emplace_back([&, n] {
      got[n] = tcp_broadcast(TcpBootstrap{.dist_init_addr = addr, .nnodes = kNodes, .node_rank = n, .timeout_s = 30},
                             n == 0 ? id : std::vector<char>{});
    });
  }
  for (auto& t : nodes) t.join();
  for (int n = 0; n < kNodes; ++n) EXPECT_EQ(got[n], id) << "node " << n;
}

TEST(TcpBootstrap, SingleNodeNeedsNoNetwork) {
  EXPECT_EQ(tcp_broadcast(TcpBootstrap{.dist_init_addr = "", .nnodes = 1}, {'x'}), std::vector<char>{'x'});
}

TEST(TcpBootstrap, BadArgumentsAndTimeoutsAreInvalidArgument) {
  auto code_of = [](const TcpBootstrap& b) {
    try {
      tcp_broadcast(b, {});
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of({.dist_init_addr = "no-port", .nnodes = 2, .node_rank = 1}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of({.dist_init_addr = "127.0.0.1:1", .nnodes = 2, .node_rank = 2}), ErrorCode::kInvalidArgument);
  const std::string addr = "127.0.0.1:" + std::to_string(free_port());
  EXPECT_EQ(code_of({.dist_init_addr = addr, .nnodes = 2, .node_rank = 1, .timeout_s = 1}),
            ErrorCode::kInvalidArgument);  // nobody serves
  EXPECT_EQ(code_of({.dist_init_addr = addr, .nnodes = 2, .node_rank = 0, .timeout_s = 1}),
            ErrorCode::kInvalidArgument);  // nobody joins
}

TEST(TcpBootstrap, ParsesDistInitAddr) {
  const HostPort v4 = parse_dist_init_addr("10.0.0.1:29500");
  EXPECT_EQ(v4.host, "10.0.0.1");
  EXPECT_EQ(v4.port, 29500);
  EXPECT_EQ(parse_dist_init_addr("[::1]:1").host, "::1");
  EXPECT_EQ(parse_dist_init_addr("node-0.cluster:65535").port, 65535);
  for (const char* bad :
       {"", "host", ":29500", "host:", "host:0", "host:65536", "host:29x", "host:-1", "host:123456"}) {
    try {
      parse_dist_init_addr(bad);
      ADD_FAILURE() << "'" << bad << "' parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << bad;
      EXPECT_NE(std::string(e.what()).find("--dist-init-addr"), std::string::npos) << e.what();
    }
  }
}

TEST(TcpBootstrap, NodeLayoutNamesTheBadFlag) {
  EXPECT_NO_THROW(check_node_layout(1, {}));
  EXPECT_NO_THROW(check_node_layout(8, {.dist_init_addr = "10.0.0.1:29500", .nnodes = 2, .node_rank = 1}));
  struct Bad {
    int tp;
    TcpBootstrap nodes;
    const char* flag;
  };
  const std::string addr = "10.0.0.1:29500";
  for (const Bad& b : std::vector<Bad>{{2, {.dist_init_addr = addr, .nnodes = 0}, "--nnodes"},
                                       {2, {.dist_init_addr = addr, .nnodes = 2, .node_rank = 2}, "--node-rank 2"},
                                       {2, {.dist_init_addr = addr, .nnodes = 2, .node_rank = -1}, "--node-rank -1"},
                                       {3, {.dist_init_addr = addr, .nnodes = 2}, "multiple of --nnodes"},
                                       {2, {.nnodes = 2}, "needs --dist-init-addr"},
                                       {2, {.dist_init_addr = "10.0.0.1", .nnodes = 2}, "HOST:PORT"},
                                       {1, {.dist_init_addr = addr}, "only used with --nnodes > 1"}}) {
    try {
      check_node_layout(b.tp, b.nodes);
      ADD_FAILURE() << b.flag << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
      EXPECT_NE(std::string(e.what()).find(b.flag), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace turbolm
