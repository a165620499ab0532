// The input generator of the `pattern` task (docs/model.md 5).
//
// Every rank runs an identical generator: all its random numbers are keyed by (seed, purpose,
// channel, step) or by a generator-event number, so no input spike is ever communicated.
// Frozen patterns are drawn once per run; each protocol phase restarts the generator with a
// noise phase.
#pragma once

#include <cstdint>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/rng.hpp"

namespace seqlearn {

// The input of one step.
struct InputStep {
  std::vector<std::uint32_t> channels;     // ascending
  std::vector<std::uint8_t> from_pattern;  // per spike: 1 if the frozen pattern made it
  int pattern_id = -1;                     // -1 in noise
  int sequence_id = -1;
};

class InputGenerator {
 public:
  InputGenerator(const Config& config, const CounterRng& rng);

  // Restart with a noise phase under new settings (start of every protocol phase).
  void start_phase(const InputSettings& settings);

  // Everything that determines the generator's future, for checkpoints (the current
  // presentation is rebuilt from it). Settings come from the phase and are set separately.
  struct State {
    std::uint64_t event = 0;
    bool in_pattern = false;
    bool first_sequence = true;
    std::int64_t remaining = 0;
    std::int64_t position = 0;
    int sequence = -1;
    std::int64_t sequence_position = 0;
    double warp = 1.0;
    int pattern = -1;  // the pattern being presented (-1 in noise)
  };
  State state() const;
  // Continues a checkpointed phase: same settings, restored position. The keys that may
  // change on a restore can leave the position outside the sequences (fewer or other
  // input.pattern_sequences): then a presentation in progress ends there (a noise phase
  // follows), and the next sequence is chosen as at the start of a phase.
  void resume(const InputSettings& settings, const State& state);
  // Continues the generator-event counter of a checkpoint (for phases that start afresh).
  void set_event(std::uint64_t event) { event_ = event; }

  // Generates global step `step` (steps must come in order within a phase).
  void generate(std::int64_t step, InputStep& out);

  // The frozen pattern p: spike times in ms from its start, per channel.
  const std::vector<std::vector<double>>& pattern(int p) const {
    return patterns_[static_cast<std::size_t>(p)];
  }

 private:
  void begin_noise();
  void begin_sequence();
  void begin_pattern();
  void build_presentation();
  int next_sequence();
  double event_uniform(int which = 0) { return rng_.uniform(Purpose::generator, event_, 0, which); }

  const Config& config_;
  CounterRng rng_;
  std::vector<std::vector<std::vector<double>>> patterns_;  // [pattern][channel] -> times (ms)
  InputSettings settings_;
  std::uint64_t event_ = 0;  // generator-event counter: keys phase lengths, choices, warps
  bool in_pattern_ = false;
  bool first_sequence_ = true;
  std::int64_t remaining_ = 0;  // steps left in the current noise phase or pattern
  std::int64_t position_ = 0;   // step within the current pattern
  int sequence_ = -1;
  std::size_t sequence_position_ = 0;
  double warp_ = 1.0;
  // Current pattern presentation: channels per step (warped, de-duplicated, ascending).
  std::vector<std::vector<std::uint32_t>> presentation_;
};

}  // namespace seqlearn
