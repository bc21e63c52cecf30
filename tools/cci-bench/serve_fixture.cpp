#include "serve_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/file_io.h"
#include "base/unique_fd.h"
#include "serve/net.h"
#include "bench_util.h"
#include "serve/spawn.h"

namespace cci::tools::bench {

using Clock = std::chrono::steady_clock;

namespace {
// The launch measurement the bench's simulated platform plays and its client pins.
const std::string kBenchMeasurement(96, 'b');
}  // namespace

Result<std::unique_ptr<ServeFixture>> ServeFixture::start(const BenchModel& model, const std::string& work, const FixtureOptions& o) {
  ::signal(SIGPIPE, SIG_IGN);  // a server that hangs up is an error value, not a silent death
  std::unique_ptr<ServeFixture> f(new ServeFixture());
  f->work_ = work;
  f->run_bin_ = find_tool_bin("cci-run", "");
  f->verify_bin_ = find_tool_bin("cci-verify", "");
  const std::string measure = find_measure_bin("");
  CCI_TRY(run_measure(measure, {"keygen", "--private-key", work + "/release.key"}, "/dev/null", true));
  // The deployment the server attests: this model, signed; the simulated platform plays the
  // measurement the client pins (the bench has no VM image, so no launch digest to list).
  const std::string yaml = "version: 1\nname: bench\nmodel:\n  path: \"" + model.dir + "\"\n";
  CCI_TRY(write_file_atomic(work + "/cci.yaml", as_bytes(yaml)));
  CCI_TRY(run_measure(measure, {"manifest", "build", work + "/cci.yaml", "--key", work + "/release.key", "-o", work + "/cci-manifest.json"}, "/dev/null", true));
  CCI_TRY(run_measure(f->run_bin_, {"sim", "init", work + "/sim", "--vendor", "amd", "--measurement", kBenchMeasurement}, "/dev/null", true));
  for (int u = 0; u < o.users; ++u) {
    const std::string out = work + "/key" + std::to_string(u);
    CCI_TRY(run_measure(f->run_bin_, {"keys", "add", "--file", work + "/keys.txt", "--user", "bench" + std::to_string(u)}, out, true));
    CCI_ASSIGN(key, read_file(out, 4096));
    std::string k(key.begin(), key.end());
    while (!k.empty() && (k.back() == '\n' || k.back() == '\r')) k.pop_back();
    f->keys_.push_back(k);
  }
  // The server: stderr (its JSON log) to serve.log, via a shell-free spawn with fd 2 redirected.
  const std::string log = work + "/serve.log";
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd.valid()) return make_error(ErrorCode::kIo, "cannot create " + log, "work");
  const auto t0 = Clock::now();
  std::vector<std::string> args = {"serve", "--tee", "sim-snp", "--sim-dir", work + "/sim", "--model", model.dir, "--deployment", work + "/cci-manifest.json",
                                   "--release-key", work + "/release.pub", "--api-keys", work + "/keys.txt", "--listen", "127.0.0.1:0",
                                   "--ready-file", work + "/ready.json", "--threads", std::to_string(o.threads), "--max-tokens", "100000",
                                   "--max-users", std::to_string(std::max(16, o.users)), "--idle-timeout", "3600", "--exit-with-parent"};
  if (o.stream_interval >= 0) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", o.stream_interval);
    args.insert(args.end(), {"--stream-interval", text});
  }
  CCI_ASSIGN(pid, serve::spawn_process(f->run_bin_, args, {{log_fd.get(), 2}}));
  f->pid_ = pid;
  const std::string ready = work + "/ready.json";
  for (int i = 0; i < 1200 && !std::filesystem::exists(ready); ++i) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      f->pid_ = -1;
      return make_error(ErrorCode::kIo, "cci-run serve stopped at start; see " + log, "serve");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CCI_ASSIGN(ready_text, read_file(ready, 4096));
  const auto j = nlohmann::json::parse(ready_text.begin(), ready_text.end(), nullptr, false);
  if (!j.is_object() || !j.contains("url")) return make_error(ErrorCode::kIo, "cci-run serve did not become ready; see " + log, "serve");
  f->start_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  f->url_ = j["url"].get<std::string>();
  const std::string rest = f->url_.substr(8);
  f->host_ = rest.substr(0, rest.rfind(':'));
  f->port_ = rest.substr(rest.rfind(':') + 1);
  return f;
}

ServeFixture::~ServeFixture() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
}

Result<double> ServeFixture::verify_remote() {
  const std::string out = work_ + "/remote.json";
  CCI_ASSIGN(run, run_measure(verify_bin_, {"remote", url_, "--release-key", work_ + "/release.pub", "--measurement", kBenchMeasurement,
                                            "--trust-sim-root", work_ + "/sim", "--offline", "--insecure-no-crl", "--json"},
                              out, true));
  CCI_ASSIGN(text, read_file(out, 1u << 20));
  const auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object() || j.value("result", "") != "pass") return make_error(ErrorCode::kVerificationFailed, "cci-verify remote did not accept the server", "remote");
  pin_ = j["remote"]["pin"].get<std::string>();
  return run.seconds;
}

Result<std::unique_ptr<crypto::TlsConnection>> ServeFixture::connect() const {
  if (pin_.empty()) return make_error(ErrorCode::kUsage, "verify the server before connecting", "pin");
  CCI_ASSIGN(fd, serve::tcp_connect(host_, port_));
  static std::optional<crypto::TlsContext> ctx;
  if (!ctx) CCI_SET(ctx, crypto::TlsContext::client());
  CCI_ASSIGN(tls, crypto::TlsConnection::connect(*ctx, fd, host_));
  CCI_ASSIGN(cert, tls->peer_certificate());
  if (crypto::public_key_pin(cert) != pin_) return make_error(ErrorCode::kVerificationFailed, "the server's key is not the verified one", "pin");
  return tls;
}

serve::ClientRequest ServeFixture::completion_request(size_t user, const nlohmann::json& body) const {
  serve::ClientRequest req;
  req.method = "POST";
  req.target = "/v1/completions";
  req.host = host_;
  const std::string auth = "Bearer " + keys_.at(user), text = body.dump();
  req.authorization.assign(auth.begin(), auth.end());
  req.body.assign(text.begin(), text.end());
  return req;
}

std::vector<cli::Json> ServeFixture::log_events(const std::string& event) const {
  std::vector<cli::Json> out;
  std::ifstream in(work_ + "/serve.log");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = cli::Json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == event) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace cci::tools::bench
