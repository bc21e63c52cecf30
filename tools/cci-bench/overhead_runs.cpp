#include "overhead_runs.h"

#include <dirent.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "bench_stats.h"
#include "bench_util.h"
#include "crypto/tls.h"
#include "infer/engine.h"
#include "infer/generate.h"
#include "infer/tokenizer.h"
#include "serve/http.h"
#include "serve_fixture.h"

namespace cci::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0, Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); }

// The prompt both paths use: Genesis-like text repeated until it is at least `tokens` long.
Result<std::string> prompt_text(const infer::Tokenizer& tok, std::int64_t tokens, std::int64_t& actual) {
  const std::string verse = "And God said unto them, Be fruitful, and multiply, and replenish the earth, and subdue it. ";
  std::string text;
  while (true) {
    text += verse;
    CCI_ASSIGN(ids, tok.encode(text));
    actual = static_cast<std::int64_t>(ids.size()) + (tok.bos_id() ? 1 : 0);
    if (actual >= tokens) return text;
  }
}

// Before each timed run, every CPU is kept busy by this process for a while: longer than the
// engine that just finished keeps its OpenMP threads spinning (libgomp's default wait policy
// spins 300,000 times, a few milliseconds, before it sleeps), so that the next run, in the other
// process, does not share the CPUs with them; and busy rather than idle, because on a VM a vCPU
// left idle is descheduled by the host, and the next run then pays for waking it. Measured with
// the embedded model at 2 threads: back to back, the second run of every pair prefilled 2-5 x
// slower, whichever path it was; after 100 ms of sleep instead, the native engine (which starts
// on idle CPUs, while a request wakes them for the secure path) prefilled 4 x slower; with 30 ms
// of busy CPUs, both prefilled in 2.5-5 ms, run after run. (On 110M a run that followed the other
// process's run prefilled slower than one that followed its own, 2-5 % on one host and 20 % on
// another, with 30 or 100 ms of settling alike: the weights were still in the page cache as the
// benchmark had written them, mapped with 4 KiB entries; prepare_model_dir now settles them.)
constexpr std::chrono::milliseconds kSettle{30};

void settle_cpus() {
  const auto until = Clock::now() + kSettle;
  auto spin = [until] {
    while (Clock::now() < until) {
    }
  };
  std::vector<std::thread> spinners;
  for (int c = 1; c < usable_cpus(); ++c) spinners.emplace_back(spin);
  spin();
  for (auto& t : spinners) t.join();
}

// The client of the secure runs shares the CPUs with the worker's engine threads, which a client
// of a real server does not: each streamed piece of text wakes it while they compute, and under
// EEVDF a woken thread with the default slice may wait for a computing thread's slice to run out
// (about 3 ms on 2 CPUs) before it reads. Measured with the embedded model at 2 threads: the
// secure path's time to the first token beyond the worker's prefill was 0.6-0.8 ms in some runs
// and 2.3-4.5 ms in most (48 of 64); with this thread asking for the shortest slice (Linux 6.12+ custom
// slices: sched_setattr with sched_runtime for SCHED_OTHER, which lets a woken thread preempt)
// 0.4-0.7 ms in all but 3 of 64 runs. The same request in the server's connection process changed nothing, so
// the server keeps the default. Only the client's latency changes: its CPU time is still taken
// from the engine and still counted.
struct SchedAttr {  // struct sched_attr, SCHED_ATTR_SIZE_VER0 (glibc before 2.41 declares none)
  std::uint32_t size, sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime, sched_deadline, sched_period;
};
static_assert(sizeof(SchedAttr) == 48, "SCHED_ATTR_SIZE_VER0");
constexpr std::uint64_t kClientSliceNs = 100'000;  // the shortest the kernel accepts

// Sets this thread's slice (0: the default again), keeping its policy and nice value; false where
// the kernel has no custom slices or the thread is not SCHED_OTHER.
bool set_thread_slice(std::uint64_t ns) {
  SchedAttr a{};
  if (::syscall(SYS_sched_getattr, 0, &a, static_cast<unsigned>(sizeof a), 0u) != 0 || a.sched_policy != SCHED_OTHER) return false;
  a.size = sizeof a;
  a.sched_flags &= 0x01;  // SCHED_FLAG_RESET_ON_FORK kept, nothing else asked for
  a.sched_runtime = ns;
  return ::syscall(SYS_sched_setattr, 0, &a, 0u) == 0;
}

// Plain inference: tokenize the prompt, prefill, decode, and turn each token into text as it
// comes (the time to first token includes the tokenizer, as it does on the serving path). The
// text is what plain inference is for: cci-run generate and the worker both decode every token
// as it comes, so a native side that skipped it would charge its cost to security (small: 0.8 ms
// for 128 tokens of the 110M shape, against the worker's 10 ms of decoding and handing text to
// its connection, both counted in output_seconds).
Result<Sample> native_run(infer::Engine& engine, const infer::Tokenizer& tok, const std::string& text, std::int64_t generate) {
  engine.reset();
  const auto t0 = Clock::now();
  CCI_ASSIGN(prompt, tok.encode(text));
  if (tok.bos_id()) prompt.insert(prompt.begin(), *tok.bos_id());
  infer::GenerateOptions g;
  g.max_tokens = generate;
  g.sampling.temperature = 0;
  Clock::time_point first{}, last{};
  std::int64_t n = 0;
  infer::StreamDecoder decoder(tok, prompt);
  std::string produced;
  g.on_token = [&](std::int64_t id) {
    produced += decoder.push(id);
    last = Clock::now();
    if (n++ == 0) first = last;
    return true;
  };
  std::vector<std::int64_t> out;
  CCI_ASSIGN(st, infer::generate(engine, prompt, g, out));
  produced += decoder.finish();
  if (n < 2) return make_error(ErrorCode::kInternal, "native run produced fewer than 2 tokens");
  Sample s;
  s.ttft = since(t0, first);
  s.prefill = static_cast<double>(prompt.size()) / s.ttft;  // as on the serving path: prompt / time to first token
  s.decode = static_cast<double>(n - 1) / since(first, last);
  s.engine_prefill = st.prefill_seconds;
  s.output = st.callback_seconds;
  s.engine_decode = static_cast<double>(st.generated - 1) / (st.decode_seconds - st.callback_seconds);
  return s;
}

std::vector<cli::Json> worker_completions(const ServeFixture& f) {
  auto done = f.log_events("completion");
  std::erase_if(done, [](const cli::Json& e) { return e.value("proc", "") != "worker"; });
  return done;
}

// The worker's completions once more than `count` are logged, waiting up to 5 s for them (it logs
// a completion after it answered, so the client may be done first); fewer if none came in time.
std::vector<cli::Json> completions_beyond(const ServeFixture& f, size_t count) {
  std::vector<cli::Json> done = worker_completions(f);
  for (int waited = 0; waited < 500 && done.size() <= count; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    done = worker_completions(f);
  }
  return done;
}

// One streamed completion; times come from the server-sent events as they arrive.
Result<Sample> secure_once(crypto::TlsConnection& tls, const ServeFixture& f, const std::string& text, std::int64_t prompt_tokens,
                           std::int64_t generate, bool& answered) {
  const size_t logged_before = worker_completions(f).size();
  const auto req = f.completion_request(0, {{"prompt", text},
                                            {"max_tokens", generate},
                                            {"temperature", 0},
                                            {"ignore_eos", true},
                                            {"stream", true},
                                            {"stream_options", {{"include_usage", true}}}});
  std::string pending;
  Clock::time_point first{}, last{};
  bool seen = false;
  std::int64_t tokens = 0, usage_prompt = 0, pieces = 0;
  const auto t0 = Clock::now();
  auto on_body = [&](std::string_view chunk) {
    answered = true;
    const auto now = Clock::now();
    pending.append(chunk);
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      const std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (event.rfind("data: {", 0) != 0) continue;
      const auto j = nlohmann::json::parse(event.substr(6), nullptr, false);
      if (!j.is_object()) continue;
      const auto& choice = j["choices"][0];
      if (choice.contains("text") && choice["text"].is_string() && !choice["text"].get<std::string>().empty()) {
        if (!seen) first = now, seen = true;
        last = now;
        ++pieces;
      }
      if (j.contains("usage")) {
        tokens = j["usage"].value("completion_tokens", std::int64_t{0});
        usage_prompt = j["usage"].value("prompt_tokens", std::int64_t{0});
      }
    }
    return true;
  };
  CCI_ASSIGN(status, serve::round_trip_streamed(tls, req, on_body));
  if (status != 200) return make_error(ErrorCode::kIo, "the server answered HTTP " + std::to_string(status), "secure");
  if (!seen || tokens != generate)
    return make_error(ErrorCode::kInternal, "the stream carried " + std::to_string(tokens) + " of " + std::to_string(generate) + " tokens");
  if (usage_prompt != prompt_tokens)
    return make_error(ErrorCode::kInternal,
                      "the server saw " + std::to_string(usage_prompt) + " prompt tokens, native " + std::to_string(prompt_tokens));
  Sample s;
  s.ttft = since(t0, first);
  s.prefill = static_cast<double>(prompt_tokens) / s.ttft;
  s.decode = static_cast<double>(tokens - 1) / since(first, last);
  s.pieces = static_cast<double>(pieces);
  // The worker's own figures for this request: the completion it logs after the last event it
  // sent, so the client may see the end of the stream first.
  const std::vector<cli::Json> done = completions_beyond(f, logged_before);
  if (done.size() <= logged_before || done.back().value("completion_tokens", std::int64_t{0}) != generate) {
    return make_error(ErrorCode::kInternal, "the worker's log has no completion of " + std::to_string(generate) + " tokens for this run");
  }
  const cli::Json& w = done.back();
  s.engine_prefill = w.value("prefill_seconds", 0.0);
  s.output = w.value("output_seconds", 0.0);
  s.engine_decode = static_cast<double>(generate - 1) / (w.value("decode_seconds", 0.0) - s.output);
  return s;
}

// One streamed completion on the kept connection. A server closes a connection that stayed idle
// past its keep-alive timeout (the native runs in between can take longer than that, on a large
// model): a request that got no answer at all is sent again once on a new connection. Counts the
// reconnection in m.reconnects, and clears m.client_short_slice when the run went without it.
Result<Sample> secure_run(std::unique_ptr<crypto::TlsConnection>& tls, const ServeFixture& f, const std::string& text, std::int64_t generate,
                          Measured& m) {
  bool answered = false;
  const bool short_slice = set_thread_slice(kClientSliceNs);  // this run only: the native runs keep the default
  m.client_short_slice = m.client_short_slice && short_slice;
  struct Restore {
    bool on;
    ~Restore() {
      if (on) (void)set_thread_slice(0);
    }
  } restore{short_slice};
  auto s = secure_once(*tls, f, text, m.prompt_tokens, generate, answered);
  if (s || answered) return s;
  CCI_ASSIGN(fresh, f.connect());
  tls = std::move(fresh);
  ++m.reconnects;
  return secure_once(*tls, f, text, m.prompt_tokens, generate, answered);
}

// CPU seconds from /proc: everything busy (user, nice, system, irq, softirq, steal) over all
// CPUs, and a process tree's own (utime + stime + the reaped children's).
double ticks_to_seconds(unsigned long long t) { return static_cast<double>(t) / static_cast<double>(::sysconf(_SC_CLK_TCK)); }

double all_busy_seconds(int& cpus) {
  std::ifstream f("/proc/stat");
  std::string line;
  double busy = 0;
  cpus = 0;
  while (std::getline(f, line)) {
    if (line.rfind("cpu", 0) != 0) break;
    std::istringstream in(line);
    std::string name;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    in >> name >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    if (name == "cpu")
      busy = ticks_to_seconds(user + nice + system + irq + softirq + steal);
    else
      ++cpus;
  }
  return busy;
}

struct ProcStat {
  pid_t ppid = 0;
  unsigned long long cpu = 0;  // utime + stime + cutime + cstime, ticks
};

std::map<pid_t, ProcStat> all_processes() {
  std::map<pid_t, ProcStat> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string text;
    if (!std::getline(f, text)) continue;
    const auto close = text.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream in(text.substr(close + 2));
    std::string field;
    ProcStat p;
    unsigned long long utime = 0, stime = 0;
    long long cutime = 0, cstime = 0;
    in >> field >> p.ppid;
    for (int i = 0; i < 9; ++i) in >> field;  // pgrp .. cmajflt
    in >> utime >> stime >> cutime >> cstime;
    p.cpu = utime + stime + static_cast<unsigned long long>(std::max(0LL, cutime) + std::max(0LL, cstime));
    out[static_cast<pid_t>(pid)] = p;
  }
  ::closedir(d);
  return out;
}

// CPU seconds of these processes and all their descendants; `count` gets how many were read.
double tree_seconds(const std::vector<pid_t>& roots, size_t& count) {
  const auto procs = all_processes();
  std::vector<pid_t> todo = roots;
  unsigned long long total = 0;
  std::vector<pid_t> seen;
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
    seen.push_back(p);
    if (auto it = procs.find(p); it != procs.end()) {
      total += it->second.cpu;
      ++count;
    }
    for (const auto& [pid, st] : procs) {
      if (st.ppid == p) todo.push_back(pid);
    }
  }
  return ticks_to_seconds(total);
}

// Measures CPU use over what `body` does.
template <class F>
Status measure_cpu(const std::vector<pid_t>& ours, int& cpus, CpuUse& use, F&& body) {
  size_t n0 = 0, n1 = 0;
  const auto t0 = Clock::now();
  const double all0 = all_busy_seconds(cpus), ours0 = tree_seconds(ours, n0);
  CCI_TRY(body());
  use.all = all_busy_seconds(cpus) - all0;
  use.ours = tree_seconds(ours, n1) - ours0;
  use.wall = since(t0, Clock::now());
  use.slack = ticks_to_seconds(n0 + n1 + 2);
  return {};
}

// Memory of one process from /proc/PID/status, MiB: peak and current resident set, and the
// current set split into private memory (RssAnon: KV cache, activations, heap) and file pages
// (RssFile: the mapped weights, shared through the page cache with every other mapping).
cli::Json process_memory(pid_t pid, const std::string& role) {
  const auto kib = proc_kib(pid, "status");
  cli::Json j{{"role", role}, {"pid", pid}};
  for (const auto& [key, name] : {std::pair{"VmHWM", "peak_rss_mib"}, std::pair{"VmRSS", "rss_mib"}, std::pair{"RssAnon", "private_mib"},
                                  std::pair{"RssFile", "file_mib"}}) {
    if (auto it = kib.find(key); it != kib.end()) j[name] = it->second / 1024.0;
  }
  return j;
}

// This process, the server and every process below it (connection handlers, workers), named by
// the subcommand they run.
cli::Json tree_memory(pid_t self, pid_t server) {
  cli::Json out = cli::Json::array();
  out.push_back(process_memory(self, "benchmark (native engine)"));
  const auto procs = all_processes();
  std::vector<pid_t> todo = {server};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    std::ifstream c("/proc/" + std::to_string(p) + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(c)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    for (size_t at = 0; at < cmd.size();) {
      const size_t end = cmd.find('\0', at);
      args.push_back(cmd.substr(at, end == std::string::npos ? std::string::npos : end - at));
      if (end == std::string::npos) break;
      at = end + 1;
    }
    out.push_back(process_memory(p, args.size() > 1 ? "cci-run " + args[1] : "cci-run"));
    for (const auto& [pid, st] : procs) {
      if (st.ppid == p) todo.push_back(pid);
    }
  }
  return out;
}

}  // namespace

Status pin_to_cpus(const std::string& list) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::istringstream in(list);
  std::string part;
  int count = 0;
  while (std::getline(in, part, ',')) {
    int lo = -1, hi = -1, used = 0;
    const int got = std::sscanf(part.c_str(), "%d%n-%d%n", &lo, &used, &hi, &used);
    if (got == 1) hi = lo;
    if (got < 1 || used != static_cast<int>(part.size()) || lo < 0 || hi < lo || hi >= CPU_SETSIZE) {
      return make_error(ErrorCode::kUsage, "--cpus: '" + part + "' is not a CPU number or range (e.g. 0-1,3)", "cpus");
    }
    for (int c = lo; c <= hi; ++c, ++count) CPU_SET(c, &set);
  }
  if (count == 0) return make_error(ErrorCode::kUsage, "--cpus names no CPU", "cpus");
  if (::sched_setaffinity(0, sizeof set, &set) != 0) {
    return make_error(ErrorCode::kUsage, "--cpus " + list + ": " + std::strerror(errno) + " (CPUs this machine does not have?)", "cpus");
  }
  return {};
}

Result<Measured> measure_overhead(const OverheadOptions& o, const BenchModel& bm, const std::string& work, const cli::Context& ctx) {
  Measured m;
  ctx.info("starting cci-run serve (simulated SEV-SNP) and verifying it with cci-verify remote...");
  FixtureOptions fo;
  fo.threads = o.threads;
  fo.stream_interval = o.stream_interval;
  CCI_ASSIGN(fixture, ServeFixture::start(bm, work, fo));
  std::vector<double> handshakes;
  for (int i = 0; i < 3; ++i) {
    CCI_ASSIGN(seconds, fixture->verify_remote());
    handshakes.push_back(seconds);
  }
  CCI_ASSIGN(tls, fixture->connect());
  // The user's first request starts their worker.
  const auto t_first = Clock::now();
  {
    CCI_ASSIGN(res, serve::round_trip(*tls, fixture->completion_request(0, {{"prompt", "And"}, {"max_tokens", 1}})));
    if (res.status != 200) return make_error(ErrorCode::kIo, "the first request failed with HTTP " + std::to_string(res.status), "secure");
  }
  const double first_request = since(t_first, Clock::now());
  // The worker logs its completion after it answered; each run below takes the first completion
  // logged after it started as its own, so this one must be in the log before any run starts
  // (seen once under load: the warm-up took this 1-token completion for its own and failed).
  if (completions_beyond(*fixture, 0).empty()) return make_error(ErrorCode::kInternal, "the worker's log has no completion for the first request", "secure");
  CCI_ASSIGN(loaded, infer::load_model(bm.dir));
  infer::EngineOptions eo;
  eo.threads = o.threads;
  CCI_ASSIGN(engine, infer::Engine::create(loaded.config, loaded.weights, eo));
  CCI_ASSIGN(text, prompt_text(*loaded.tokenizer, o.prompt, m.prompt_tokens));
  if (m.prompt_tokens + o.generate > engine->context()) {
    return make_error(ErrorCode::kUsage, "--prompt-tokens + --generate must fit the " + std::to_string(engine->context()) + "-token context",
                      "generate");
  }
  ctx.info("warm-up, then " + std::to_string(o.runs) + " interleaved runs: " + std::to_string(m.prompt_tokens) + " prompt tokens, " +
           std::to_string(o.generate) + " generated, " + std::to_string(o.threads) + " thread(s)...");
  CCI_TRY(native_run(*engine, *loaded.tokenizer, text, o.generate));
  CCI_TRY(secure_run(tls, *fixture, text, o.generate, m));
  const std::vector<pid_t> ours = {::getpid(), fixture->pid()};
  CCI_TRY(measure_cpu(ours, m.load.cpus, m.load.quiet, [] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    return Status{};
  }));
  CCI_TRY(measure_cpu(ours, m.load.cpus, m.load.runs, [&]() -> Status {
    for (int r = 0; r < o.runs; ++r) {
      for (int k = 0; k < 2; ++k) {
        settle_cpus();  // no spinning threads of the previous run, no idle vCPUs to wake
        if ((k == 0) == (r % 2 == 0)) {
          CCI_ASSIGN(s, native_run(*engine, *loaded.tokenizer, text, o.generate));
          m.native.push_back(s);
        } else {
          CCI_ASSIGN(s, secure_run(tls, *fixture, text, o.generate, m));
          m.secure.push_back(s);
        }
      }
      ctx.verbose("run " + std::to_string(r + 1) + "/" + std::to_string(o.runs) + " done");
    }
    return Status{};
  }));
  m.memory = tree_memory(::getpid(), fixture->pid());
  tls->close_notify();
  const auto verified = fixture->log_events("model_verified");
  const auto ready = fixture->log_events("ready");
  m.one_time = cli::Json{{"server_start_seconds", fixture->server_start_seconds()},
                         {"weight_verification_seconds", verified.empty() ? 0.0 : verified[0].value("seconds", 0.0)},
                         {"attestation_handshake_seconds", summarize(handshakes).to_json()},
                         {"worker_first_request_seconds", first_request},
                         {"worker_ready_seconds", ready.empty() ? 0.0 : ready[0].value("start_seconds", 0.0)}};
  m.blas_native = infer::blas_kernels();
  m.blas_worker = ready.empty() ? std::string("(no ready event)") : ready[0].value("blas", std::string("(not logged)"));
  return m;
}

}  // namespace cci::tools::bench
