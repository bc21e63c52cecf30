// Where a simulated platform (cci-run sim init DIR) keeps its public files. The simulator
// writes them (common/sim), a verifier that trusts DIR by name reads them (common/appraise):
//   DIR/amd/ark.pem ask.pem vcek.pem cert_chain.pem crl.der platform.json
//   DIR/hygon/hrk.cert hsk_cek.cert pek.cert platform.json
//   DIR/intel/root.pem pck_ca.pem pck.pem tcb_signing.pem platform.json collateral/
//   DIR/nvidia/device_root.pem chain.pem rim_root.pem driver_rim.xml vbios_rim.xml platform.json
// (private keys beside them, mode 0600, are the simulator's alone).
#pragma once

#include <string>

namespace cci::evidence {

inline std::string sim_amd_dir(const std::string& dir) { return dir + "/amd"; }
inline std::string sim_hygon_dir(const std::string& dir) { return dir + "/hygon"; }
inline std::string sim_intel_dir(const std::string& dir) { return dir + "/intel"; }
inline std::string sim_nvidia_dir(const std::string& dir) { return dir + "/nvidia"; }
inline std::string sim_snp_ark_file(const std::string& dir) { return sim_amd_dir(dir) + "/ark.pem"; }
inline std::string sim_snp_vcek_file(const std::string& dir) { return sim_amd_dir(dir) + "/vcek.pem"; }
inline std::string sim_snp_chain_file(const std::string& dir) { return sim_amd_dir(dir) + "/cert_chain.pem"; }
inline std::string sim_snp_crl_file(const std::string& dir) { return sim_amd_dir(dir) + "/crl.der"; }
inline std::string sim_csv_hrk_file(const std::string& dir) { return sim_hygon_dir(dir) + "/hrk.cert"; }
inline std::string sim_csv_hsk_cek_file(const std::string& dir) { return sim_hygon_dir(dir) + "/hsk_cek.cert"; }
inline std::string sim_tdx_root_file(const std::string& dir) { return sim_intel_dir(dir) + "/root.pem"; }
// The PCS's files for the simulated FMSPC, in the layout cci-verify --tdx-collateral reads.
inline std::string sim_tdx_collateral_dir(const std::string& dir) { return sim_intel_dir(dir) + "/collateral"; }

// A simulated NVIDIA GPU: its device root, its RIM root and the RIMs it was made with.
inline std::string sim_nvgpu_root_file(const std::string& dir) { return sim_nvidia_dir(dir) + "/device_root.pem"; }
inline std::string sim_nvgpu_rim_root_file(const std::string& dir) { return sim_nvidia_dir(dir) + "/rim_root.pem"; }
inline std::string sim_nvgpu_driver_rim_file(const std::string& dir) { return sim_nvidia_dir(dir) + "/driver_rim.xml"; }
inline std::string sim_nvgpu_vbios_rim_file(const std::string& dir) { return sim_nvidia_dir(dir) + "/vbios_rim.xml"; }

}  // namespace cci::evidence
