// Checkpoints (docs/design.md principle 6; format in docs/checkpoint.md), in the I/O library:
// reading a checkpoint's header before the network is built (the configuration to restore
// with), and writing and restoring a run's state: functions over the parts of a simulator
// (Simulator::checkpoint_parts).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/simulator.hpp"

namespace seqlearn {

// Collective and atomic: written as PATH.partial, then renamed over PATH (docs/design.md 6).
void write_checkpoint(const std::string& path, const CheckpointParts& parts);

// Before the run: loads a checkpoint written by any number of ranks. Everything is checked
// before any state changes; a bad file is a ConfigError on every rank alike.
void restore_checkpoint(const std::string& path, const CheckpointParts& parts);

// The protocol still to run, as run.protocol text; `continues`: its first phase is the rest of
// the current one.
std::string remaining_protocol(const Config& config, const ProtocolPosition& position,
                               bool& continues);

// A simulator's own checkpoints: restore before run(), and the writer its run() uses (main and
// the tests install it with set_checkpoint_writer).
inline void restore(Simulator& simulator, const std::string& path) {
  restore_checkpoint(path, simulator.checkpoint_parts());
}
inline void write_checkpoint(Simulator& simulator, const std::string& path) {
  write_checkpoint(path, simulator.checkpoint_parts());
}
inline CheckpointWriter checkpoint_writer() {
  return
      [](const CheckpointParts& parts, const std::string& path) { write_checkpoint(path, parts); };
}

struct CheckpointHeader {
  std::vector<std::pair<std::string, std::string>> config;  // the checkpointed run's keys
  std::int64_t step = 0;
  std::string remaining_protocol;  // run.protocol text; empty when the run was complete
  bool continues_phase = false;    // its first phase is the rest of the checkpointed one
  int n_ranks = 0;
  std::uint64_t learning_steps = 0;
  InputGenerator::State generator;  // the input generator's position at `step`
};

// Throws ConfigError (exit code 2) if `path` is not a readable seqlearn checkpoint, or if an
// attribute of /config or /checkpoint is missing, of another type, out of range, or does not
// match the attributes' checksum (docs/checkpoint.md). Reads the same on every rank, so every
// rank reaches the same verdict without communicating.
CheckpointHeader read_checkpoint_header(const std::string& path);

}  // namespace seqlearn
