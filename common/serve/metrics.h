// cci-run serve's Prometheus metrics: counts and latencies, never content. The accept loop owns
// one Metrics; connections report each request's route, status and timings (never its body,
// its key or its user), and GET /metrics renders the text exposition format, version 0.0.4
// (Prometheus, "Exposition formats", text-based format).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace cci::serve {

// The routes this server knows, as logged and as metric labels; any other path is "other" (what a
// client wrote never reaches a log or a label).
std::string route_label(std::string_view path);

// A cumulative histogram with fixed bucket bounds (seconds).
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  void observe(double v);
  // The series of one metric: NAME_bucket{LABELS,le=…}, NAME_sum, NAME_count.
  std::string render(const std::string& name, const std::string& labels) const;

 private:
  std::array<std::uint64_t, kBounds.size()> counts_{};  // per bucket, not cumulative
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

struct RequestSample {
  std::string route;  // one of the server's routes or "other" (never the client's path)
  int status = 0;
  double seconds = 0;               // request read to response written
  double first_token_seconds = -1;  // completions: request read to the first token sent; < 0: none
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
};

class Metrics {
 public:
  explicit Metrics(std::string version) : version_(std::move(version)) {}
  void request(const RequestSample& s);
  void connection_opened() { ++connections_total_; }
  void connection_refused() { ++connections_refused_; }  // over the limits, before TLS
  void auth_failed() { ++auth_failures_; }
  void worker_started() { ++worker_starts_; }
  void evidence_served() { ++fresh_evidence_; }
  // Gauges, read when rendering.
  struct Gauges {
    int connections = 0, workers = 0, busy_workers = 0;
    std::int64_t certificate_not_after = 0;  // Unix seconds
    std::string key_source;                  // an encrypted model's key source ("" for a plain model)
    bool model_sealed = false;               // ... still waiting for its key
  };
  std::string render(const Gauges& g) const;

 private:
  std::string version_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;  // (route, status)
  std::map<std::string, Histogram> duration_;                      // by route
  Histogram first_token_;
  std::uint64_t prompt_tokens_ = 0, completion_tokens_ = 0;
  std::uint64_t connections_total_ = 0, connections_refused_ = 0, auth_failures_ = 0, worker_starts_ = 0, fresh_evidence_ = 0;
};

}  // namespace cci::serve
