// Reading a checkpoint's header before the network is built (the configuration to restore
// with). Writing and restoring the state are Simulator::write_checkpoint / restore
// (src/checkpoint.cpp; format in docs/checkpoint.md).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"

namespace seqlearn {

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
