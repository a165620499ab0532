// The I/O module of the inputs: it reads the files a run replays or forces (the file task's
// input.file / input.label_file / test.file / test.label_file, validation.forced_spikes) and
// hands their content, checked, to the model in memory (InputFile, LoadedInputFile,
// ForcedSpikes). The model layer (input.hpp, simulator.hpp) reads no file.
//   input_files.cpp    HDF5 (through H5Input) and CSV spike files, CSV label files
//   forced_spikes.cpp  docs/model.md 7's CSV of forced spikes (forced_spikes.hpp, apart so
//                      that the fuzz harness builds it without HDF5 and Random123)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/forced_spikes.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/simulator.hpp"

namespace seqlearn {

// At most how many rows (spikes and labels) the file task's files hold (input.file and
// input.label_file, and test.file and test.label_file when given), from their sizes (CSV) or
// dataset lengths (HDF5), without reading them: for the memory estimate that refuses a file too
// large before any rank loads it. ConfigError for a missing or special file.
std::uint64_t input_file_rows_at_most(const Config& config);

// Reads input.file (HDF5 or CSV `step,channel`) and input.label_file (CSV `step,label`).
// Throws ConfigError naming the key (exit code 2) for a missing, unreadable or malformed
// file, a channel >= n_inputs, a negative step or label < -1, a `dt` attribute != dt_ms.
// `key` and `label_key` name them in messages (test.file and test.label_file for test phases).
InputFile load_input_file(const std::string& path, const std::string& label_path, int n_inputs,
                          double dt_ms, const std::string& key = "input.file",
                          const std::string& label_key = "input.label_file");

// Every source of input_file_sources(config), loaded once, in that order (the generator's
// constructor argument). ConfigError as load_input_file.
std::vector<LoadedInputFile> load_input_files(const Config& config);

// Everything a Simulator of `config` is handed from files: the file task's sources and the
// forced spikes (checked against the network's size, counted from the seed, and the run's
// steps, which a restored run starts at its checkpoint's `first_step`: forced spikes before it
// are skipped, docs/model.md 7). ConfigError naming the key.
SimulatorInputs load_simulator_inputs(const Config& config, std::int64_t first_step = 0);

}  // namespace seqlearn
