#include "serve/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cci::serve {
namespace {

// Prometheus float text: integers without a fraction, others with enough digits to round-trip.
std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else {
    // The shortest of 15..17 significant digits that reads back as v ("0.005", not 0.0050000000000000001).
    for (int digits = 15; digits <= 17; ++digits) {
      std::snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
  }
  return buf;
}

// A label value in the exposition format: backslash, double quote and newline escaped.
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string head(const std::string& name, const char* type, const char* help) {
  return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string line(const std::string& name, const std::string& labels, double v) {
  return name + (labels.empty() ? "" : "{" + labels + "}") + " " + num(v) + "\n";
}

}  // namespace

std::string route_label(std::string_view path) {
  for (const char* r : {"/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions", "/v1/attestation/certificate",
                        "/v1/attestation/fresh", "/v1/attestation/manifest", "/v1/attestation/model-key"}) {
    if (path == r) return r;
  }
  return "other";
}

void Histogram::observe(double v) {
  if (!(v >= 0)) return;  // NaN or negative: not a duration
  ++count_;
  sum_ += v;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (v <= kBounds[i]) {
      ++counts_[i];
      break;
    }
  }
}

std::string Histogram::render(const std::string& name, const std::string& labels) const {
  std::string out;
  const std::string sep = labels.empty() ? "" : labels + ",";
  std::uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += counts_[i];
    out += line(name + "_bucket", sep + "le=\"" + num(kBounds[i]) + "\"", static_cast<double>(cumulative));
  }
  out += line(name + "_bucket", sep + "le=\"+Inf\"", static_cast<double>(count_));
  out += line(name + "_sum", labels, sum_);
  out += line(name + "_count", labels, static_cast<double>(count_));
  return out;
}

void Metrics::request(const RequestSample& s) {
  // A connection process is sandboxed, but what it reports is still input: the route is mapped
  // again, so only the server's own routes become labels.
  const std::string route = route_label(s.route);
  const int status = s.status >= 100 && s.status <= 599 ? s.status : 0;
  ++requests_[{route, status}];
  duration_[route].observe(s.seconds);
  if (s.first_token_seconds >= 0) first_token_.observe(s.first_token_seconds);
  if (s.prompt_tokens > 0) prompt_tokens_ += static_cast<std::uint64_t>(s.prompt_tokens);
  if (s.completion_tokens > 0) completion_tokens_ += static_cast<std::uint64_t>(s.completion_tokens);
}

std::string Metrics::render(const Gauges& g) const {
  std::string out;
  out += head("cci_build_info", "gauge", "The cci version serving (always 1).");
  out += line("cci_build_info", "version=\"" + label_value(version_) + "\"", 1);
  out += head("cci_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto& [k, n] : requests_) out += line("cci_requests_total", "route=\"" + k.first + "\",code=\"" + std::to_string(k.second) + "\"", static_cast<double>(n));
  out += head("cci_request_duration_seconds", "histogram", "From the request read to the response written, by route.");
  for (const auto& [route, h] : duration_) out += h.render("cci_request_duration_seconds", "route=\"" + route + "\"");
  out += head("cci_time_to_first_token_seconds", "histogram", "Completions: from the request read to the first token sent.");
  out += first_token_.render("cci_time_to_first_token_seconds", "");
  out += head("cci_prompt_tokens_total", "counter", "Prompt tokens of completed requests.");
  out += line("cci_prompt_tokens_total", "", static_cast<double>(prompt_tokens_));
  out += head("cci_completion_tokens_total", "counter", "Generated tokens of completed requests.");
  out += line("cci_completion_tokens_total", "", static_cast<double>(completion_tokens_));
  out += head("cci_connections_total", "counter", "TLS connections handed to a connection process.");
  out += line("cci_connections_total", "", static_cast<double>(connections_total_));
  out += head("cci_connections_refused_total", "counter", "Sockets closed before TLS (connection limits).");
  out += line("cci_connections_refused_total", "", static_cast<double>(connections_refused_));
  out += head("cci_connections", "gauge", "Connection processes running.");
  out += line("cci_connections", "", g.connections);
  out += head("cci_auth_failures_total", "counter", "Requests with an unknown API key.");
  out += line("cci_auth_failures_total", "", static_cast<double>(auth_failures_));
  out += head("cci_workers", "gauge", "Per-user worker processes running.");
  out += line("cci_workers", "", g.workers);
  out += head("cci_workers_busy", "gauge", "Workers computing an answer.");
  out += line("cci_workers_busy", "", g.busy_workers);
  out += head("cci_worker_starts_total", "counter", "Worker processes started.");
  out += line("cci_worker_starts_total", "", static_cast<double>(worker_starts_));
  out += head("cci_fresh_evidence_total", "counter", "Fresh attestation evidence served (POST /v1/attestation/fresh).");
  out += line("cci_fresh_evidence_total", "", static_cast<double>(fresh_evidence_));
  out += head("cci_certificate_not_after_seconds", "gauge", "When the attested TLS certificate expires (Unix seconds).");
  out += line("cci_certificate_not_after_seconds", "", static_cast<double>(g.certificate_not_after));
  if (!g.key_source.empty()) {
    out += head("cci_model_sealed", "gauge", "1 while the encrypted model waits for its key (completions answer 503), 0 once it serves.");
    out += line("cci_model_sealed", "key_source=\"" + g.key_source + "\"", g.model_sealed ? 1 : 0);
  }
  return out;
}

}  // namespace cci::serve
