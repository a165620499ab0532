// Checkpoints (docs/design.md principle 6; format in docs/checkpoint.md): reading a
// checkpoint's header before the network is built (the configuration to restore with), and
// writing and restoring a run's state: functions over the parts of a simulator
// (Simulator::write_checkpoint and restore hand them over).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"

namespace seqlearn {

class Communicator;
class Network;
class LocalDomain;
class SpikeRouter;
struct ModelState;
struct ProtocolPosition;
struct IntervalInputs;

// What a checkpoint saves and restores, and what it needs to know to do so.
struct CheckpointParts {
  const Config& config;
  Communicator& comm;
  const Network& network;
  const LocalDomain& domain;
  SpikeRouter& router;  // the spikes in flight
  ModelState& state;
  InputGenerator& input;
  ProtocolPosition& position;
  IntervalInputs& interval_inputs;  // where validation mode's forced spikes stand
};

// Collective and atomic: written as PATH.partial, then renamed over PATH (docs/design.md 6).
void write_checkpoint(const std::string& path, const CheckpointParts& parts);

// Before the run: loads a checkpoint written by any number of ranks. Everything is checked
// before any state changes; a bad file is a ConfigError on every rank alike.
void restore_checkpoint(const std::string& path, const CheckpointParts& parts);

// The protocol still to run, as run.protocol text; `continues`: its first phase is the rest of
// the current one.
std::string remaining_protocol(const Config& config, const ProtocolPosition& position,
                               bool& continues);

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
