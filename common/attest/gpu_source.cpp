#include "attest/gpu_source.h"

#include <dlfcn.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "sim/nvgpu_sim.h"

namespace cci::attest {
namespace {

// NVML's ABI for these calls (nvml.h, "Confidential Computing" queries): the structures are
// passed by pointer and sized as NVML defines them.
constexpr int kNvmlSuccess = 0;
struct NvmlCcState {
  unsigned int environment, cc_feature, devtools_mode;
};
struct NvmlGpuReport {
  unsigned int is_cec_report_present, report_size, cec_report_size;
  unsigned char nonce[0x20];
  unsigned char report[0x2000];
  unsigned char cec_report[0x1000];
};
struct NvmlGpuCertificate {
  unsigned int cert_chain_size, attestation_cert_chain_size;
  unsigned char cert_chain[0x1000];
  unsigned char attestation_cert_chain[0x1400];
};
using NvmlDevice = void*;

class NvmlSource final : public GpuSource {
 public:
  static Result<std::unique_ptr<GpuSource>> open(const std::string& library) {
    void* h = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      return make_error(ErrorCode::kUnsupported, "--gpu nvml: cannot load " + library + " (no NVIDIA driver in this VM?): " + ::dlerror(), "gpu");
    }
    std::unique_ptr<NvmlSource> s(new NvmlSource(h));
    CCI_TRY(s->bind());
    CCI_TRY(s->check(s->init_(), "nvmlInit_v2"));
    s->initialised_ = true;
    NvmlCcState st{};
    CCI_TRY(s->check(s->cc_state_(&st), "nvmlSystemGetConfComputeState"));
    if (st.cc_feature != 1) return make_error(ErrorCode::kVerificationFailed, "--gpu nvml: the GPUs are not in confidential-computing mode (CC off)", "gpu");
    if (st.devtools_mode != 0) {
      return make_error(ErrorCode::kVerificationFailed, "--gpu nvml: the GPUs are in DevTools mode (debuggable): refused", "gpu");
    }
    return std::unique_ptr<GpuSource>(std::move(s));
  }
  ~NvmlSource() override {
    if (initialised_) shutdown_();
    ::dlclose(handle_);
  }
  std::string describe() const override { return "NVML (confidential-computing mode)"; }
  bool simulated() const override { return false; }

  Result<Bytes> evidence(ByteView nonce) override {
    if (nonce.size() != 32) return make_error(ErrorCode::kUsage, "a GPU nonce is 32 bytes", "nonce");
    unsigned int count = 0;
    CCI_TRY(check(count_(&count), "nvmlDeviceGetCount_v2"));
    if (count == 0 || count > 64) return make_error(ErrorCode::kIo, "NVML lists " + std::to_string(count) + " GPUs", "gpu");
    nlohmann::json out = nlohmann::json::array();
    for (unsigned int i = 0; i < count; ++i) {
      NvmlDevice d = nullptr;
      CCI_TRY(check(handle_by_index_(i, &d), "nvmlDeviceGetHandleByIndex_v2"));
      unsigned int arch = 0;
      CCI_TRY(check(arch_(d, &arch), "nvmlDeviceGetArchitecture"));
      auto report = std::make_unique<NvmlGpuReport>();
      std::memset(report.get(), 0, sizeof *report);
      std::memcpy(report->nonce, nonce.data(), 32);
      CCI_TRY(check(report_(d, report.get()), "nvmlDeviceGetConfComputeGpuAttestationReport"));
      auto cert = std::make_unique<NvmlGpuCertificate>();
      std::memset(cert.get(), 0, sizeof *cert);
      CCI_TRY(check(cert_(d, cert.get()), "nvmlDeviceGetConfComputeGpuCertificate"));
      if (report->report_size == 0 || report->report_size > sizeof report->report || cert->attestation_cert_chain_size == 0 ||
          cert->attestation_cert_chain_size > sizeof cert->attestation_cert_chain) {
        return make_error(ErrorCode::kIo, "NVML returned GPU " + std::to_string(i) + "'s report or chain with an impossible size", "gpu");
      }
      out.push_back({{"arch", arch == 9 ? "HOPPER" : arch == 10 ? "BLACKWELL" : "UNKNOWN"},
                     {"nonce", to_hex(nonce)},
                     {"evidence", base64_encode(ByteView(report->report, report->report_size))},
                     {"certificate", base64_encode(ByteView(cert->attestation_cert_chain, cert->attestation_cert_chain_size))}});
    }
    const std::string text = out.dump();
    return Bytes(text.begin(), text.end());
  }

 private:
  explicit NvmlSource(void* h) : handle_(h) {}
  template <class F>
  Status sym(F& f, const char* name) {
    f = reinterpret_cast<F>(::dlsym(handle_, name));
    if (!f) return make_error(ErrorCode::kUnsupported, std::string("--gpu nvml: the NVIDIA driver's NVML has no ") + name + " (driver too old for confidential computing?)", "gpu");
    return {};
  }
  Status bind() {
    CCI_TRY(sym(init_, "nvmlInit_v2"));
    CCI_TRY(sym(shutdown_, "nvmlShutdown"));
    CCI_TRY(sym(error_string_, "nvmlErrorString"));
    CCI_TRY(sym(cc_state_, "nvmlSystemGetConfComputeState"));
    CCI_TRY(sym(count_, "nvmlDeviceGetCount_v2"));
    CCI_TRY(sym(handle_by_index_, "nvmlDeviceGetHandleByIndex_v2"));
    CCI_TRY(sym(arch_, "nvmlDeviceGetArchitecture"));
    CCI_TRY(sym(report_, "nvmlDeviceGetConfComputeGpuAttestationReport"));
    return sym(cert_, "nvmlDeviceGetConfComputeGpuCertificate");
  }
  Status check(int rc, const char* call) const {
    if (rc == kNvmlSuccess) return {};
    const char* why = error_string_ ? error_string_(rc) : nullptr;
    return make_error(ErrorCode::kIo, std::string(call) + ": " + (why ? why : "NVML error " + std::to_string(rc)), "gpu");
  }

  void* handle_;
  bool initialised_ = false;
  int (*init_)() = nullptr;
  int (*shutdown_)() = nullptr;
  const char* (*error_string_)(int) = nullptr;
  int (*cc_state_)(NvmlCcState*) = nullptr;
  int (*count_)(unsigned int*) = nullptr;
  int (*handle_by_index_)(unsigned int, NvmlDevice*) = nullptr;
  int (*arch_)(NvmlDevice, unsigned int*) = nullptr;
  int (*report_)(NvmlDevice, NvmlGpuReport*) = nullptr;
  int (*cert_)(NvmlDevice, NvmlGpuCertificate*) = nullptr;
};

class SimSource final : public GpuSource {
 public:
  explicit SimSource(std::string dir) : dir_(std::move(dir)) {}
  std::string describe() const override { return "simulated NVIDIA GPU in " + dir_ + " (SIMULATED)"; }
  bool simulated() const override { return true; }
  Result<Bytes> evidence(ByteView nonce) override { return sim::nvgpu_sim_evidence(dir_, nonce, 1); }

 private:
  std::string dir_;
};

}  // namespace

Result<std::unique_ptr<GpuSource>> select_gpu_source(const std::string& kind, const std::string& sim_dir, const std::string& nvml_library) {
  if (kind == "nvml") return NvmlSource::open(nvml_library);
  if (kind == "sim") {
    if (sim_dir.empty()) return make_error(ErrorCode::kUsage, "--gpu sim needs --sim-dir DIR (cci-run sim init DIR --vendor nvidia)", "gpu");
    return std::unique_ptr<GpuSource>(new SimSource(sim_dir));
  }
  return make_error(ErrorCode::kUsage, "--gpu must be none, nvml or sim, not '" + kind + "'", "gpu");
}

}  // namespace cci::attest
