// A live cci-run serve for the benchmarks, set up the way a deployment is: the model signed
// with a fresh release key (cci-measure), a simulated SEV-SNP platform (cci-run sim init), one
// API key per benchmark user (cci-run keys), the server on 127.0.0.1 with a free port, and a
// client that verifies it with cci-verify remote before anything else. All real executables,
// found beside cci-bench. The destructor stops the server (SIGTERM) and waits for it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "bench_models.h"
#include "serve/http.h"
#include "crypto/tls.h"

namespace cci::tools::bench {

struct FixtureOptions {
  int threads = 2;  // per worker
  int users = 1;    // API keys to make
  double stream_interval = -1;  // cci-run serve --stream-interval; negative: the server's default
};

class ServeFixture {
 public:
  static Result<std::unique_ptr<ServeFixture>> start(const BenchModel& model, const std::string& work, const FixtureOptions& o);
  ~ServeFixture();
  ServeFixture(const ServeFixture&) = delete;
  ServeFixture& operator=(const ServeFixture&) = delete;

  // Runs cci-verify remote (TLS, certificate, fresh evidence, full report verification) and
  // keeps the pin it prints; returns its wall time.
  Result<double> verify_remote();
  // A TLS 1.3 connection whose server key has the verified pin.
  Result<std::unique_ptr<crypto::TlsConnection>> connect() const;

  // POST /v1/completions with `body` as benchmark user `user` (its API key).
  serve::ClientRequest completion_request(size_t user, const nlohmann::json& body) const;

  const std::string& url() const { return url_; }
  const std::string& host() const { return host_; }
  const std::string& key(size_t user) const { return keys_.at(user); }
  double server_start_seconds() const { return start_seconds_; }
  pid_t pid() const { return pid_; }  // the accept loop
  // The structured log events named `event` so far (JSON lines of the server's processes).
  std::vector<cli::Json> log_events(const std::string& event) const;

 private:
  ServeFixture() = default;
  std::string work_, run_bin_, verify_bin_, url_, host_, port_, pin_;
  std::vector<std::string> keys_;
  pid_t pid_ = -1;
  double start_seconds_ = 0;
};

}  // namespace cci::tools::bench
