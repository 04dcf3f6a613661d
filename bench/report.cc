#include "report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#ifndef PGQRS_SOURCE_DIR
#define PGQRS_SOURCE_DIR "."
#endif

namespace pgqrs_bench {

void Latencies::merge(std::vector<double>&& samples) {
  std::lock_guard lock(mu_);
  samples_.insert(samples_.end(), samples.begin(), samples.end());
  sorted_ = false;
}

double Latencies::quantile(double q) {
  std::lock_guard lock(mu_);
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  const auto idx =
      static_cast<std::size_t>(std::clamp(std::ceil(q * static_cast<double>(samples_.size())) - 1,
                                          0.0, static_cast<double>(samples_.size() - 1)));
  return samples_[idx];
}

double Latencies::mean() {
  std::lock_guard lock(mu_);
  if (samples_.empty()) return 0;
  double sum = 0;
  for (double v : samples_) sum += v;
  return sum / static_cast<double>(samples_.size());
}

std::int64_t current_rss_kb() {
  std::ifstream statm("/proc/self/statm");
  long long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

std::int64_t peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

void Record::set_latencies(Latencies& lat) {
  p50_ms = lat.quantile(0.50);
  p95_ms = lat.quantile(0.95);
  p99_ms = lat.quantile(0.99);
  mean_ms = lat.mean();
}

namespace {
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }
}  // namespace

nlohmann::json Record::to_json(const Options& o) const {
  nlohmann::json j = {
      {"scenario", scenario},         {"backend", backend},
      {"consumers", consumers},       {"batch", batch},
      {"messages", messages},         {"msgs_per_s", std::round(msgs_per_s * 10.0) / 10.0},
      {"wall_ms", round3(wall_ms)},   {"p50_ms", round3(p50_ms)},
      {"p95_ms", round3(p95_ms)},     {"p99_ms", round3(p99_ms)},
      {"mean_ms", round3(mean_ms)},   {"errors", errors},
      {"peak_rss_kb", peak_rss_kb()}, {"git_rev", git_rev()},
      {"host", host_name()},
  };
  if (!o.label.empty()) j["label"] = o.label;
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  return j;
}

std::string git_rev() {
  if (const char* env = std::getenv("PGQRS_BENCH_GIT_REV"); env && *env) return env;
  const std::string cmd =
      "git -C '" PGQRS_SOURCE_DIR "' describe --always --dirty --abbrev=10 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return "unknown";
  std::array<char, 128> buf{};
  std::string out;
  while (fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

std::string host_name() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0) return "unknown";
  return buf.data();
}

void write_jsonl(std::ostream& out, const nlohmann::json& record) {
  out << record.dump() << "\n";
  out.flush();
}

void write_table(std::ostream& out, const nlohmann::json& record) {
  std::size_t width = 0;
  for (auto it = record.begin(); it != record.end(); ++it) width = std::max(width, it.key().size());
  for (auto it = record.begin(); it != record.end(); ++it) {
    out << std::left << std::setw(static_cast<int>(width) + 2) << it.key()
        << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) << "\n";
  }
  out.flush();
}

Progress::Progress(std::string what, std::uint64_t total, bool enabled)
    : what_(std::move(what)), total_(total), enabled_(enabled) {
  if (!enabled_) return;
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      for (int i = 0; i < 10 && !stop_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      draw(false);
    }
  });
}

Progress::~Progress() {
  if (!enabled_) return;
  stop_ = true;
  thread_.join();
  draw(true);
}

void Progress::phase(std::string what) {
  std::lock_guard lock(mu_);
  what_ = std::move(what);
  start_ = SteadyClock::now();
  done_ = 0;
}

void Progress::draw(bool final) {
  std::lock_guard lock(mu_);
  const double secs = std::max(1e-9, ms_between(start_, SteadyClock::now()) / 1000.0);
  const auto done = done_.load();
  std::ostringstream line;
  line << "\r" << what_ << " " << done << "/" << total_ << "  " << std::fixed
       << std::setprecision(0) << static_cast<double>(done) / secs << "/s  " << std::setprecision(1)
       << secs << " s   ";
  std::cerr << line.str() << (final ? "\n" : "") << std::flush;
}

}  // namespace pgqrs_bench
