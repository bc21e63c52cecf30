#include "cli/progress.h"

#include <cstdio>

namespace cci::cli {

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

Progress::Progress(bool enabled, std::string label, std::uint64_t total)
    : enabled_(enabled), label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()) {
  if (enabled_) thread_ = std::thread([this] { loop(); });
}

Progress::~Progress() { finish(); }

void Progress::finish() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (enabled_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

void Progress::loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_; })) draw();
}

void Progress::draw() {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double done = static_cast<double>(done_.load());
  double total = static_cast<double>(total_.load());
  double rate = secs > 0 ? done / secs : 0;
  double frac = total > 0 ? std::min(1.0, done / total) : 0;
  constexpr int kWidth = 24;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  char eta[32] = "--";
  if (rate > 0 && total > done) {
    int s = static_cast<int>((total - done) / rate);
    std::snprintf(eta, sizeof eta, "%d:%02d", s / 60, s % 60);
  }
  std::fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %s / %s  %s/s  ETA %s", label_.c_str(), bar.c_str(), frac * 100,
               human_bytes(done).c_str(), human_bytes(total).c_str(), human_bytes(rate).c_str(), eta);
  std::fflush(stderr);
}

}  // namespace cci::cli
