// The input generator (docs/model.md 5 and 11.2): the input task of each phase, chosen by name
// from the registry (input_task.hpp), and the built-in tasks' classes:
//   PatternTask  noise phases and frozen pattern sequences (the `pattern` task)
//   XorTask      two halves of the channels, each showing one of its two frozen short
//                patterns per window, windows in lockstep (the `xor` task)
//   FileTask     the spikes and labels of input.file, replayed cyclically (the `file` task)
// (the `multi` task: task_multi.hpp).
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
#include "seqlearn/input_task.hpp"
#include "seqlearn/rng.hpp"
#include "seqlearn/task_multi.hpp"

namespace seqlearn {

// The generator's position, for checkpoints: the task of the current phase and the positions
// of the tasks the run builds (their entries' fields), which determine their future (the
// current presentation is rebuilt from them). Settings come from the phase.
struct InputState {
  std::string task = "pattern";
  TaskPosition position;
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

  // Memory per row of the file while it is loaded (the estimates): the (step, value) pair read
  // (input_files.cpp), then its place in the arrays above.
  static constexpr double kLoadBytesPerRow =
      2 * sizeof(std::int64_t) + sizeof(std::int64_t) + sizeof(std::uint32_t);
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
class PatternTask : public InputTask {
 public:
  PatternTask(const Config& config, const CounterRng& rng);
  void start_phase(const InputSettings& settings) override;
  void save(TaskPosition& position) const override;
  // Continues a checkpointed phase: same settings, restored position. The keys that may
  // change on a restore can leave the position outside the sequences (fewer or other
  // input.pattern_sequences): then a presentation in progress ends there (a noise phase
  // follows), and the next sequence is chosen as at the start of a phase.
  void resume(const InputSettings& settings, const TaskPosition& position) override;
  // The generator-event counter runs on across phases and tasks.
  void carry_over(const TaskPosition& position) override {
    event_ = static_cast<std::uint64_t>(position.integer("event"));
  }
  void generate(std::int64_t step, InputStep& out) override;
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
class XorTask : public InputTask {
 public:
  XorTask(const Config& config, const CounterRng& rng);
  void start_phase(const InputSettings& settings) override;
  void save(TaskPosition& position) const override;
  void resume(const InputSettings& settings, const TaskPosition& position) override;
  void generate(std::int64_t step, InputStep& out) override;
  std::int64_t window_steps() const { return window_; }
  // Frozen pattern `id` of `half` (0 or 1): spike times in ms from the window start, per
  // channel of the whole input (the other half's channels empty).
  const std::vector<std::vector<double>>& pattern(int half, int id) const {
    return patterns_[static_cast<std::size_t>(2 * half + id)];
  }

 private:
  const Config& config_;
  CounterRng rng_;
  double window_ms_ = 0;                                    // input.t_pattern_xor
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

// One source of the file task: a loaded file, replayed from its step 0, cyclically.
class FileReplay {
 public:
  explicit FileReplay(std::shared_ptr<const InputFile> file) : file_(std::move(file)) {}
  void start_phase();
  std::int64_t position() const { return position_; }
  // input.file may change on a restore: a position beyond the new file's length wraps.
  void resume(std::int64_t position);
  void generate(InputStep& out);
  bool loaded() const { return file_ != nullptr; }
  const InputFile* file() const { return file_.get(); }

 private:
  void seek(std::int64_t position);
  std::shared_ptr<const InputFile> file_;
  std::int64_t position_ = 0;     // the file's step that comes next
  std::size_t spike_cursor_ = 0;  // first spike at or after position_
  std::size_t label_cursor_ = 0;  // the label run that holds position_
};

// The `file` task: input.file's spikes and labels from each phase's first step (the file's
// step 0), cyclically; no noise. Test phases replay test.file when it is given.
class FileTask : public InputTask {
 public:
  // `files`: the loaded sources of input_file_sources(config).
  FileTask(const Config& config, const std::vector<LoadedInputFile>& files);
  void start_phase(const InputSettings& settings) override;
  void save(TaskPosition& position) const override;
  void resume(const InputSettings& settings, const TaskPosition& position) override;
  void generate(std::int64_t, InputStep& out) override { active().generate(out); }
  std::optional<double> spikes_in_phase(const InputSettings& settings, std::int64_t steps,
                                        bool continues) const override;

 private:
  // The train phases' file (input.file) or the test phases' (test.file), by the settings'
  // source; both may be one loaded file.
  bool is_test_source(const InputSettings& settings) const {
    return test_.loaded() && settings.file == test_source_.first &&
           settings.label_file == test_source_.second;
  }
  const FileReplay& replay(const InputSettings& settings) const {
    return is_test_source(settings) ? test_ : train_;
  }
  FileReplay& active() { return test_active_ ? test_ : train_; }

  FileReplay train_{nullptr};
  FileReplay test_{nullptr};
  std::pair<std::string, std::string> test_source_;  // (file, label file)
  bool test_active_ = false;                         // the current phase replays test_
};

// Runs the task of each phase. It builds the tasks the protocol names, and those whose
// entries are in every run, once, in registry order.
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
  // What outlives a phase (the generator-event counter), from a checkpoint, for phases that
  // start afresh.
  void carry_over(const State& state);

  // Generates global step `step` (steps must come in order within a phase).
  void generate(std::int64_t step, InputStep& out) {
    out.targets_new = false;
    current_->generate(step, out);
  }
  // The current task's targets (InputTask::targets), new where the step said so.
  const std::vector<double>& targets() const { return current_->targets(); }

  const std::string& task() const { return task_; }
  // The run's task `name` as its class (std::logic_error if the run did not build it).
  template <class Task>
  const Task& built(const std::string& name) const {
    return dynamic_cast<const Task&>(find(name));
  }
  // The pattern task's frozen pattern p: spike times in ms from its start, per channel.
  const std::vector<std::vector<double>>& pattern(int p) const {
    return built<PatternTask>("pattern").pattern(p);
  }

  // InputTask::spikes_in_phase of the settings' task (empty if the run did not build it).
  std::optional<double> spikes_in_phase(const InputSettings& settings, std::int64_t steps,
                                        bool continues) const;

 private:
  InputTask& find(const std::string& name) const;

  std::vector<std::pair<std::string, std::unique_ptr<InputTask>>> tasks_;  // registry order
  std::string task_ = "pattern";
  InputTask* current_ = nullptr;
};

}  // namespace seqlearn
