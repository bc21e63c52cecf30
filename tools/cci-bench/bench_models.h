// Models and machine facts the inference benchmarks share: random-weight models of public
// shapes (written out as a model directory that cci-run serve can load), the
// weight bytes read per decoded token, and this machine (CPU, cores, memory, read bandwidth).
#pragma once

#include <memory>
#include <string>

#include "cli/tool.h"
#include "infer/model_files.h"

namespace cci::tools::bench {

// Shapes of public checkpoints (random weights, same sizes): 15M, 110M (llama2.c stories), 1B.
Result<infer::ModelConfig> named_shape(const std::string& name);
// Bytes read per decoded token: every weight once, except an untied embedding table (one row).
double weight_bytes(const infer::LoadedModel& m);
// Read bandwidth (GB/s) of `threads` threads summing a 1 GiB buffer (2 MiB pages where the
// kernel gives them) with each load width the CPU has; best of 5.
double measure_read_bandwidth(int threads);
// Read bandwidth (GB/s) of `threads` threads summing the weights a decode step reads (as
// weight_bytes counts them), where they are mapped: the bound for that model's decode. On a VM
// two buffers of the same size can read at rates a third apart (where the host placed them), so
// a separate buffer is no bound for another mapping.
double measure_weight_bandwidth(const infer::LoadedModel& m, int threads);

// A model directory for cci-run serve: --model DIR as given; else a directory under `work` with
// the embedded model, or random weights of --shape (config.json, model.safetensors, and the
// embedded model's tokenizer.model: ids past its vocabulary decode as U+FFFD), written back and
// dropped from the page cache before it returns.
struct BenchModel {
  std::string dir, name;
  infer::ModelConfig config;
  double parameters = 0, weight_bytes = 0;
};
Result<BenchModel> prepare_model_dir(const std::string& model, const std::string& shape, const std::string& work);

// CPU model, logical cores, memory, and the read bandwidth at `threads` threads.
cli::Json machine_info(int threads);
// The same as one line of text: "machine: AMD EPYC, 2 logical cores, 23.5 GiB, 15.2 GB/s read (2 threads)".
std::string machine_line(const cli::Json& machine);

}  // namespace cci::tools::bench
