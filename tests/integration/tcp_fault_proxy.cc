#include "integration/tcp_fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <utility>

namespace pgqrs_test {

TcpFaultProxy::TcpFaultProxy(std::string upstream_host, int upstream_port)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error("TcpFaultProxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

TcpFaultProxy::~TcpFaultProxy() {
  stop_.store(true);
  wake();
  thread_.join();
  for (auto& p : pairs_) close_pair(p, /*reset=*/false);
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void TcpFaultProxy::wake() {
  const char b = 1;
  [[maybe_unused]] auto n = ::write(wake_pipe_[1], &b, 1);
}

void TcpFaultProxy::set_mode(Mode mode) {
  {
    std::lock_guard lock(mu_);
    mode_ = mode;
    mode_changed_ = true;
  }
  wake();
}

void TcpFaultProxy::fault_after_next_request(Mode mode) {
  {
    std::lock_guard lock(mu_);
    armed_ = true;
    armed_mode_ = mode;
  }
  wake();
}

bool TcpFaultProxy::connect_upstream(Pair& p) {
  p.server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(upstream_port_));
  ::inet_pton(AF_INET, upstream_host_.c_str(), &addr.sin_addr);
  return p.server >= 0 && ::connect(p.server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

void TcpFaultProxy::close_pair(Pair& p, bool reset) {
  for (int* fd : {&p.client, &p.server}) {
    if (*fd < 0) continue;
    if (reset) {
      linger l{1, 0};  // close() sends RST
      ::setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(*fd);
    *fd = -1;
  }
}

bool TcpFaultProxy::relay(int from, int to) {
  char buf[65536];
  const ssize_t n = ::recv(from, buf, sizeof buf, 0);
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    const ssize_t w = ::send(to, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

void TcpFaultProxy::run() {
  while (!stop_.load()) {
    Mode mode;
    bool changed;
    {
      std::lock_guard lock(mu_);
      mode = mode_;
      changed = mode_changed_;
      mode_changed_ = false;
    }
    if (changed) {
      for (auto& p : pairs_) {
        if (mode == Mode::kDrop || mode == Mode::kReset) close_pair(p, mode == Mode::kReset);
        if (mode == Mode::kPass) p.stalled = false;
      }
    }
    if (mode == Mode::kPass) {  // healed: connections accepted while stalled go upstream now
      for (auto& p : pairs_) {
        if (p.client >= 0 && p.server < 0 && !connect_upstream(p)) close_pair(p, false);
      }
    }
    std::erase_if(pairs_, [](const Pair& p) { return p.client < 0; });

    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    std::vector<std::pair<std::size_t, bool>> owner;  // pair index, from the client side
    if (mode == Mode::kPass) {
      for (std::size_t i = 0; i < pairs_.size(); ++i) {
        if (pairs_[i].stalled || pairs_[i].server < 0) continue;
        fds.push_back({pairs_[i].client, POLLIN, 0});
        owner.emplace_back(i, true);
        fds.push_back({pairs_[i].server, POLLIN, 0});
        owner.emplace_back(i, false);
      }
    }
    if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
    if (fds[1].revents != 0) {
      char b[64];
      while (::read(wake_pipe_[0], b, sizeof b) > 0) {
      }
    }
    if (fds[0].revents & POLLIN) {
      Pair p;
      p.client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (p.client >= 0) {
        ++accepted_;
        if (mode == Mode::kDrop || mode == Mode::kReset) {
          close_pair(p, mode == Mode::kReset);
        } else if (mode == Mode::kPass && !connect_upstream(p)) {
          close_pair(p, false);
        } else {
          pairs_.push_back(p);  // kStall: held, not connected upstream until healed
        }
      }
    }
    for (std::size_t k = 2; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Pair& p = pairs_[owner[k - 2].first];
      if (p.client < 0 || p.stalled) continue;
      const bool from_client = owner[k - 2].second;
      if (!relay(from_client ? p.client : p.server, from_client ? p.server : p.client)) {
        close_pair(p, false);
        continue;
      }
      if (!from_client) continue;
      Mode hit;
      {
        std::lock_guard lock(mu_);
        if (!armed_) continue;
        armed_ = false;
        hit = armed_mode_;
      }
      if (hit == Mode::kStall) {
        p.stalled = true;
      } else if (hit != Mode::kPass) {
        close_pair(p, hit == Mode::kReset);
      }
    }
  }
}

std::pair<std::string, int> DsnHostPort(const std::string& dsn) {
  const auto at = dsn.find('@');
  const auto colon = dsn.find(':', at);
  const auto slash = dsn.find('/', colon);
  return {dsn.substr(at + 1, colon - at - 1), std::stoi(dsn.substr(colon + 1, slash - colon - 1))};
}

std::string DsnThroughPort(const std::string& dsn, int port) {
  const auto at = dsn.find('@');
  const auto colon = dsn.find(':', at);
  const auto slash = dsn.find('/', colon);
  return dsn.substr(0, at + 1) + "127.0.0.1:" + std::to_string(port) + dsn.substr(slash);
}

}  // namespace pgqrs_test
