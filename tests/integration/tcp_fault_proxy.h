// A TCP proxy on 127.0.0.1 that injects network faults between a client and a server
// (tests only; the Postgres counterpart of scripts/s3_fault_proxy.py, decision H10).
//
// Every accepted connection is relayed to the upstream address byte for byte while the mode
// is kPass. The test switches the mode at run time; it applies to the connections already
// open AND to new ones:
//   kPass  : relay (also heals: stalled connections resume).
//   kStall : a black hole. New connections are accepted but nothing is read, forwarded or
//            answered on any connection (bytes sent to the proxy sit in socket buffers), like
//            a network that silently drops packets: no error ever reaches either side.
//   kDrop  : every connection is closed (FIN), new ones as soon as they are accepted.
//   kReset : like kDrop, with a TCP reset (RST) instead of a close.
// fault_after_next_request(mode) hits one statement in the middle: the next bytes a client
// sends are forwarded to the server, then `mode` is applied to that connection only, so the
// server runs the request while its answer never arrives (kStall) or the connection breaks
// (kDrop, kReset).
//
// One thread runs the relay (poll(2)); the mode setters are thread-safe. Destruction closes
// everything.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pgqrs_test {

class TcpFaultProxy {
 public:
  enum class Mode { kPass, kStall, kDrop, kReset };

  // Listens on 127.0.0.1, a free port; relays to upstream_host:upstream_port.
  TcpFaultProxy(std::string upstream_host, int upstream_port);
  ~TcpFaultProxy();
  TcpFaultProxy(const TcpFaultProxy&) = delete;
  TcpFaultProxy& operator=(const TcpFaultProxy&) = delete;

  int port() const { return port_; }
  void set_mode(Mode mode);
  void fault_after_next_request(Mode mode);
  // Connections accepted so far.
  std::size_t accepted() const { return accepted_.load(); }

 private:
  struct Pair {
    int client = -1;
    int server = -1;  // -1 until connected upstream (not while stalled)
    bool stalled = false;
  };
  void run();
  void wake();
  bool connect_upstream(Pair& p);
  void close_pair(Pair& p, bool reset);
  // Moves bytes from `from` to `to`; false when the connection ended.
  bool relay(int from, int to);

  std::string upstream_host_;
  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_pipe_[2] = {-1, -1};
  std::mutex mu_;
  Mode mode_ = Mode::kPass;        // GUARDED_BY(mu_)
  bool mode_changed_ = false;      // GUARDED_BY(mu_)
  bool armed_ = false;             // GUARDED_BY(mu_)
  Mode armed_mode_ = Mode::kPass;  // GUARDED_BY(mu_)
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> accepted_{0};
  std::vector<Pair> pairs_;  // relay thread only
  std::thread thread_;
};

// Replaces host:port in a postgresql://user:password@host:port/db?... DSN.
std::string DsnThroughPort(const std::string& dsn, int port);
// The host and port of such a DSN.
std::pair<std::string, int> DsnHostPort(const std::string& dsn);

}  // namespace pgqrs_test
