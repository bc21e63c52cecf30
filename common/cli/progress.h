// A byte-progress bar on stderr (bytes, rate, ETA), redrawn at most 5 times a second by a
// background thread. Draws nothing unless enabled (see Context::progress_enabled()).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace cci::cli {

class Progress {
 public:
  Progress(bool enabled, std::string label, std::uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void set_total(std::uint64_t total) { total_.store(total); }
  void add(std::uint64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
  // Stops drawing and erases the bar.
  void finish();

 private:
  void loop();
  void draw();

  bool enabled_;
  std::string label_;
  std::atomic<std::uint64_t> total_;
  std::atomic<std::uint64_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// "1.50 GiB", "12.0 MiB", "512 B"
std::string human_bytes(double bytes);

}  // namespace cci::cli
