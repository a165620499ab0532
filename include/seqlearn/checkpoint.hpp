// Reading a checkpoint's header before the network is built (the configuration to restore
// with). Writing and restoring the state are Simulator::write_checkpoint / restore
// (src/checkpoint.cpp; format in docs/checkpoint.md).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "seqlearn/config.hpp"

namespace seqlearn {

struct CheckpointHeader {
  std::vector<std::pair<std::string, std::string>> config;  // the checkpointed run's keys
  std::int64_t step = 0;
  std::string remaining_protocol;  // run.protocol text; empty when the run was complete
  bool continues_phase = false;    // its first phase is the rest of the checkpointed one
  int n_ranks = 0;
};

// Throws ConfigError (exit code 2) if `path` is not a readable seqlearn checkpoint.
CheckpointHeader read_checkpoint_header(const std::string& path);

}  // namespace seqlearn
