#include "parallel/tcp_bootstrap.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <utility>

#include "core/error.h"

namespace turbolm {
namespace {

constexpr char kMagic[4] = {'T', 'L', 'M', 'B'};  // rejects a stray client on the port
using Clock = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct AddrInfo {
  addrinfo* list = nullptr;
  ~AddrInfo() {
    if (list != nullptr) freeaddrinfo(list);
  }
};

void resolve(const HostPort& hp, bool passive, AddrInfo& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  const std::string port = std::to_string(hp.port);
  const int rc = getaddrinfo(passive ? nullptr : hp.host.c_str(), port.c_str(), &hints, &out.list);
  TLM_CHECK_ARG(rc == 0) << "--dist-init-addr " << hp.host << ":" << hp.port << ": " << gai_strerror(rc);
}

void write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) TLM_FAIL(kInternal) << "bootstrap send failed: " << std::strerror(errno);
    p += k, n -= static_cast<size_t>(k);
  }
}

void read_all(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t k = ::recv(fd, p, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) TLM_FAIL(kInternal) << "bootstrap receive failed: " << (k == 0 ? "peer closed" : std::strerror(errno));
    p += k, n -= static_cast<size_t>(k);
  }
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

// Node 0: accept nnodes - 1 connections and send each [magic, u32 size, payload].
void serve(const TcpBootstrap& b, const std::vector<char>& payload, Clock::time_point deadline) {
  AddrInfo ai;
  resolve(parse_dist_init_addr(b.dist_init_addr), /*passive=*/true, ai);
  Socket listener(::socket(ai.list->ai_family, ai.list->ai_socktype, ai.list->ai_protocol));
  TLM_CHECK(listener.fd() >= 0) << "socket: " << std::strerror(errno);
  const int one = 1;
  ::setsockopt(listener.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  TLM_CHECK_ARG(::bind(listener.fd(), ai.list->ai_addr, ai.list->ai_addrlen) == 0)
      << "--dist-init-addr " << b.dist_init_addr << ": cannot listen: " << std::strerror(errno);
  TLM_CHECK(::listen(listener.fd(), b.nnodes) == 0) << "listen: " << std::strerror(errno);
  const auto size = static_cast<uint32_t>(payload.size());
  for (int joined = 1; joined < b.nnodes; ++joined) {
    pollfd pfd{listener.fd(), POLLIN, 0};
    TLM_CHECK_ARG(::poll(&pfd, 1, remaining_ms(deadline)) == 1)
        << "bootstrap: " << joined - 1 << " of " << b.nnodes - 1 << " nodes joined " << b.dist_init_addr << " within "
        << b.timeout_s << " s (check --nnodes and --dist-init-addr)";
    Socket peer(::accept(listener.fd(), nullptr, nullptr));
    TLM_CHECK(peer.fd() >= 0) << "accept: " << std::strerror(errno);
    write_all(peer.fd(), kMagic, sizeof(kMagic));
    write_all(peer.fd(), &size, sizeof(size));
    write_all(peer.fd(), payload.data(), payload.size());
    char ack = 0;  // the peer has the payload: closing now cannot cut it off
    read_all(peer.fd(), &ack, 1);
  }
}

// Other nodes: connect (node 0 may not listen yet: retry until the deadline) and receive the payload.
std::vector<char> join(const TcpBootstrap& b, Clock::time_point deadline) {
  const HostPort hp = parse_dist_init_addr(b.dist_init_addr);
  for (;;) {
    AddrInfo ai;
    resolve(hp, /*passive=*/false, ai);
    for (addrinfo* a = ai.list; a != nullptr; a = a->ai_next) {
      Socket s(::socket(a->ai_family, a->ai_socktype, a->ai_protocol));
      if (s.fd() < 0 || ::connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0) continue;
      char magic[sizeof(kMagic)];
      read_all(s.fd(), magic, sizeof(magic));
      TLM_CHECK(std::memcmp(magic, kMagic, sizeof(kMagic)) == 0)
          << "bootstrap: " << b.dist_init_addr << " is not a turbolm node 0";
      uint32_t size = 0;
      read_all(s.fd(), &size, sizeof(size));
      std::vector<char> payload(size);
      read_all(s.fd(), payload.data(), payload.size());
      write_all(s.fd(), "k", 1);
      return payload;
    }
    TLM_CHECK_ARG(Clock::now() < deadline) << "bootstrap: node " << b.node_rank << " could not reach node 0 at "
                                           << b.dist_init_addr << " within " << b.timeout_s << " s";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

HostPort parse_dist_init_addr(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  TLM_CHECK_ARG(colon != std::string::npos && colon > 0 && colon + 1 < addr.size())
      << "--dist-init-addr '" << addr << "': expected HOST:PORT (e.g. 10.0.0.1:29500)";
  HostPort hp{addr.substr(0, colon), 0};
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  const std::string port = addr.substr(colon + 1);
  const bool digits = port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
  hp.port = digits ? std::stoi(port) : 0;
  TLM_CHECK_ARG(hp.port >= 1 && hp.port <= 65535)
      << "--dist-init-addr '" << addr << "': the port must be a number in [1, 65535]";
  return hp;
}

void check_node_layout(int tp, const TcpBootstrap& nodes) {
  TLM_CHECK_ARG(nodes.nnodes >= 1) << "--nnodes must be >= 1, got " << nodes.nnodes;
  TLM_CHECK_ARG(nodes.node_rank >= 0 && nodes.node_rank < nodes.nnodes)
      << "--node-rank " << nodes.node_rank << " must be in [0, --nnodes " << nodes.nnodes << ")";
  TLM_CHECK_ARG(tp % nodes.nnodes == 0) << "--tp " << tp << " must be a multiple of --nnodes " << nodes.nnodes
                                        << " (every node drives tp / nnodes GPUs)";
  if (nodes.nnodes == 1) {
    TLM_CHECK_ARG(nodes.dist_init_addr.empty())
        << "--dist-init-addr " << nodes.dist_init_addr << " is only used with --nnodes > 1";
    return;
  }
  TLM_CHECK_ARG(!nodes.dist_init_addr.empty())
      << "--nnodes " << nodes.nnodes << " needs --dist-init-addr HOST:PORT (node 0's address, the same on every node)";
  parse_dist_init_addr(nodes.dist_init_addr);
}

std::vector<char> tcp_broadcast(const TcpBootstrap& b, const std::vector<char>& payload) {
  TLM_CHECK_ARG(b.nnodes >= 1 && b.node_rank >= 0 && b.node_rank < b.nnodes)
      << "--node-rank " << b.node_rank << " must be in [0, --nnodes " << b.nnodes << ")";
  if (b.nnodes == 1) return payload;
  const auto deadline = Clock::now() + std::chrono::seconds(b.timeout_s);
  if (b.node_rank == 0) {
    serve(b, payload, deadline);
    return payload;
  }
  return join(b, deadline);
}

}  // namespace turbolm
