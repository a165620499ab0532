// The input generator: one small class per input task behind the per-phase choice
// (docs/model.md 5 and 11.2):
//   PatternTask  noise phases and frozen pattern sequences (the `pattern` task)
//   XorTask      two halves of the channels, each showing one of its two frozen short
//                patterns per window, windows in lockstep (the `xor` task)
//   FileTask     the spikes and labels of input.file, replayed cyclically (the `file` task)
//
// Every rank runs an identical generator: all its random numbers are keyed by (seed, purpose,
// channel, step), by a window's first step or by a generator-event number, so no input spike
// is ever communicated. Frozen patterns are drawn once per run; each protocol phase restarts
// its task (the pattern task with a noise phase, the xor task with a first window, the file
// task at the file's step 0).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/rng.hpp"
#include "seqlearn/task_multi.hpp"

namespace seqlearn {

// The input of one step.
struct InputStep {
  std::vector<std::uint32_t> channels;     // ascending
  std::vector<std::uint8_t> from_pattern;  // per spike: 1 if the frozen pattern (file) made it
  int pattern_id = -1;    // stream 1: pattern id, xor half 1's id, file label (-1: none)
  int pattern_id_2 = -1;  // stream 2: xor half 2's id (-1 for one-stream tasks)
  int sequence_id = -1;   // the pattern task's sequence (-1 otherwise)
  bool rates_new = false;  // multi task: the groups' rates (MultiTask::rates) start this step
};

// The generator's position, for checkpoints: everything that determines its future (the
// current presentation is rebuilt from it). Settings come from the phase and are set
// separately.
struct InputState {
  InputTask task = InputTask::pattern;
  // pattern task
  std::uint64_t event = 0;
  bool in_pattern = false;
  bool first_sequence = true;
  std::int64_t remaining = 0;
  std::int64_t position = 0;
  int sequence = -1;
  std::int64_t sequence_position = 0;
  double warp = 1.0;
  int pattern = -1;  // the pattern being presented (-1 in noise)
  // xor task: the step within the window (window length: a new window starts next), the two
  // halves' ids (-1 before the phase's first window)
  std::int64_t xor_position = 0;
  int xor_id_1 = -1;
  int xor_id_2 = -1;
  // file task: the file's step that comes next
  std::int64_t file_position = 0;
  // multi task: the step within the window (== window length: a new window starts next)
  std::int64_t multi_position = 0;
};

// The file task's input (input.file, input.label_file), checked on load.
struct InputFile {
  std::int64_t n_steps = 0;              // the file's length L (> 0)
  std::vector<std::int64_t> spike_step;  // sorted by (step, channel), no duplicates
  std::vector<std::uint32_t> spike_channel;
  std::vector<std::int64_t> label_step;   // where the label changes; label_step[0] = 0
  std::vector<std::int32_t> label_value;  // the label from label_step[i] on (-1: none)

  // Spikes replayed in the first `steps` steps of a phase (the file repeats).
  std::uint64_t spikes_in_first(std::int64_t steps) const;
};

// The file sources that the protocol's file phases replay (their settings' file, label file
// and keys): the train phases' and, if other, the test phases'; in protocol order.
std::vector<InputSettings> input_file_sources(const Config& config);

// A file task's source, loaded (by the I/O module, input_files.hpp: load_input_files) and
// handed to the generator: the model layer reads no file.
struct LoadedInputFile {
  std::string file;        // the source's input.file / test.file
  std::string label_file;  // and its label file ("" for none)
  std::shared_ptr<const InputFile> data;
};

// The `pattern` task (docs/model.md 5).
class PatternTask {
 public:
  PatternTask(const Config& config, const CounterRng& rng);
  void start_phase(const InputSettings& settings);
  void save(InputState& state) const;
  // Continues a checkpointed phase: same settings, restored position. The keys that may
  // change on a restore can leave the position outside the sequences (fewer or other
  // input.pattern_sequences): then a presentation in progress ends there (a noise phase
  // follows), and the next sequence is chosen as at the start of a phase.
  void resume(const InputSettings& settings, const InputState& state);
  void set_event(std::uint64_t event) { event_ = event; }
  void generate(std::int64_t step, InputStep& out);
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
  std::vector<double> noise_uniforms_;  // per channel, this step's noise draws
};

// The `xor` task (docs/model.md 11.2): half 1 = channels [0, n/2), half 2 = [n/2, n), each
// with two frozen patterns (ids 0, 1) of input.t_pattern_xor at r_input; windows of that
// length back to back from the phase's first step, both halves in lockstep. At a window's
// first step s each half switches to its other pattern with probability p_switch (uniform
// (Purpose::xor_switch, s, 0, half)); the phase's first window takes each id uniformly from
// the same draws. r_noise is OR-ed on top (Purpose::overlay_noise, as over patterns).
class XorTask {
 public:
  XorTask(const Config& config, const CounterRng& rng);
  void start_phase(const InputSettings& settings);
  void save(InputState& state) const;
  void resume(const InputSettings& settings, const InputState& state);
  void generate(std::int64_t step, InputStep& out);
  std::int64_t window_steps() const { return window_; }
  // Frozen pattern `id` of `half` (0 or 1): spike times in ms from the window start, per
  // channel of the whole input (the other half's channels empty).
  const std::vector<std::vector<double>>& pattern(int half, int id) const {
    return patterns_[static_cast<std::size_t>(2 * half + id)];
  }

 private:
  const Config& config_;
  CounterRng rng_;
  std::int64_t window_ = 1;                                 // steps per window
  std::vector<std::vector<std::vector<double>>> patterns_;  // [2 half + id][channel] -> times
  // [2 half + id]: CSR of the pattern's channels per window step (ascending, de-duplicated).
  std::vector<std::vector<std::uint32_t>> step_offsets_;
  std::vector<std::vector<std::uint32_t>> step_channels_;
  InputSettings settings_;
  std::int64_t position_ = 0;  // step within the window; == window_: a new one starts
  int id_[2] = {-1, -1};
  std::vector<double> noise_uniforms_;          // per channel, this step's overlay draws
  std::vector<std::uint32_t> window_channels_;  // this step's pattern spikes, both halves
};

// The `file` task: input.file's spikes and labels from each phase's first step (the file's
// step 0), cyclically; no noise.
class FileTask {
 public:
  explicit FileTask(std::shared_ptr<const InputFile> file) : file_(std::move(file)) {}
  void start_phase();
  void save(InputState& state) const;
  void resume(const InputState& state);
  void generate(std::int64_t step, InputStep& out);
  bool loaded() const { return file_ != nullptr; }
  const InputFile* file() const { return file_.get(); }

 private:
  void seek(std::int64_t position);
  std::shared_ptr<const InputFile> file_;
  std::int64_t position_ = 0;     // the file's step that comes next
  std::size_t spike_cursor_ = 0;  // first spike at or after position_
  std::size_t label_cursor_ = 0;  // the label run that holds position_
};

class InputGenerator {
 public:
  // `files`: the loaded sources of input_file_sources(config), which file phases replay
  // (empty when no phase runs the file task).
  InputGenerator(const Config& config, const CounterRng& rng,
                 const std::vector<LoadedInputFile>& files);

  // Restart under new settings, with their task (start of every protocol phase).
  void start_phase(const InputSettings& settings);

  using State = InputState;
  State state() const;
  // Continues a checkpointed phase of the state's task; a state of another task than the
  // settings' starts the phase afresh.
  void resume(const InputSettings& settings, const State& state);
  // Continues the generator-event counter of a checkpoint (for phases that start afresh).
  void set_event(std::uint64_t event) { pattern_.set_event(event); }

  // Generates global step `step` (steps must come in order within a phase).
  void generate(std::int64_t step, InputStep& out) {
    out.rates_new = false;
    switch (task_) {
      case InputTask::pattern:
        pattern_.generate(step, out);
        return;
      case InputTask::xor_task:
        xor_.generate(step, out);
        return;
      case InputTask::file:
        (test_file_active_ ? test_file_ : train_file_).generate(step, out);
        return;
      case InputTask::multi:
        multi_.generate(step, out);
        return;
    }
  }

  InputTask task() const { return task_; }
  // The pattern task's frozen pattern p: spike times in ms from its start, per channel.
  const std::vector<std::vector<double>>& pattern(int p) const { return pattern_.pattern(p); }
  const XorTask& xor_task() const { return xor_; }
  const MultiTask& multi_task() const { return multi_; }

  // The file that phases with these settings replay (nullptr when none is loaded for them).
  const InputFile* file(const InputSettings& settings) const { return file_task(settings).file(); }

 private:
  // The train phases' file (input.file) or the test phases' (test.file), by the settings'
  // source; both may be one loaded file.
  bool is_test_source(const InputSettings& settings) const {
    return test_file_.loaded() && settings.file == test_file_source_.first &&
           settings.label_file == test_file_source_.second;
  }
  const FileTask& file_task(const InputSettings& settings) const {
    return is_test_source(settings) ? test_file_ : train_file_;
  }

  InputTask task_ = InputTask::pattern;
  PatternTask pattern_;
  XorTask xor_;
  MultiTask multi_;
  FileTask train_file_;
  FileTask test_file_;
  std::pair<std::string, std::string> test_file_source_;  // (file, label file)
  bool test_file_active_ = false;  // the current file phase replays test_file_
};

}  // namespace seqlearn
