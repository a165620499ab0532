// Input tasks (docs/model.md 5, 11.2, 11.6): what the input channels do during a phase, as one
// class each, found by its name in input.task, test.task and run.protocol's NAME:MS:TASK. The
// built-in tasks, registered in src/input.cpp:
//   pattern  noise phases and frozen pattern sequences (input.hpp: PatternTask)
//   xor      two halves of the channels, each showing one of two short frozen patterns
//            (input.hpp: XorTask)
//   file     the spikes and labels of input.file, replayed (input.hpp: FileTask)
//   multi    groups of channels at randomly changing rates (task_multi.hpp: MultiTask)
// A task's registry entry brings what follows from it: its keys (rows of the option table,
// --help and /config), its cross-key checks, its checkpoint fields (/checkpoint:generator_*) and
// its memory estimate. Adding one: docs/extending.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/option_spec.hpp"
#include "seqlearn/registry.hpp"
#include "seqlearn/rng.hpp"

namespace seqlearn {

// The input of one step.
struct InputStep {
  std::vector<std::uint32_t> channels;     // ascending
  std::vector<std::uint8_t> from_pattern;  // per spike: 1 if the frozen pattern (file) made it
  int pattern_id = -1;       // stream 1: pattern id, xor half 1's id, file label (-1: none)
  int pattern_id_2 = -1;     // stream 2: xor half 2's id (-1 for one-stream tasks)
  int sequence_id = -1;      // the pattern task's sequence (-1 otherwise)
  bool targets_new = false;  // the task's targets (InputTask::targets) start this step
};

struct LoadedInputFile;  // input.hpp: a file task's source, loaded by the I/O library

// A task's position within its phase, for checkpoints: the values of the fields its entry
// declares, by name. An integer field holds bools and ids as well.
struct TaskPosition {
  std::map<std::string, std::variant<std::int64_t, double>> values;

  void set_integer(const std::string& name, std::int64_t value) { values[name] = value; }
  void set_real(const std::string& name, double value) { values[name] = value; }
  // The field's value (std::out_of_range if the position lacks it, which a checkpoint that
  // passed its checks never does: absent fields take their declared value).
  std::int64_t integer(const std::string& name) const {
    return std::get<std::int64_t>(values.at(name));
  }
  double real(const std::string& name) const { return std::get<double>(values.at(name)); }
};

// One field of a task's position, checkpointed as the attribute /checkpoint:generator_NAME.
// NAME is global among the tasks: start it with the task's name.
struct PositionField {
  std::string name;
  bool real = false;  // a double; otherwise a 64-bit integer
  // Allowed values, checked on restore: integers in [low, high], reals in (low, high].
  double low = 0;
  double high = 0;
  // The value when a checkpoint lacks the field (one written before the field existed);
  // empty: such a checkpoint is refused.
  std::optional<double> when_absent = 0.0;
};

// The largest step a checkpoint holds: exact as a double, and no overflow.
constexpr double kMaxCheckpointStep = 9007199254740992.0;  // 2^53

class InputTask {
 public:
  virtual ~InputTask() = default;
  // Restarts the task for a new phase under the phase's settings.
  virtual void start_phase(const InputSettings& settings) = 0;
  // Generates global step `step` (steps come in order within a phase): the channels that
  // spike, ascending, with one from_pattern flag each, and the step's labels (-1 for none).
  virtual void generate(std::int64_t step, InputStep& out) = 0;
  // Writes the fields of the entry's `position` (a task without fields needs nothing).
  virtual void save(TaskPosition&) const {}
  // Continues a checkpointed phase of this task under the same settings. A position the
  // task cannot continue (keys changed on --restore) should start the phase afresh.
  virtual void resume(const InputSettings& settings, const TaskPosition&) { start_phase(settings); }
  // What outlives a phase (the pattern task's generator-event counter): restored from every
  // checkpoint, whichever task the checkpointed phase ran.
  virtual void carry_over(const TaskPosition&) {}
  // The input spikes of a phase of `steps` under `settings` when the task knows them in
  // advance (the file task), for the output-size estimate; empty: estimated from the rates.
  virtual std::optional<double> spikes_in_phase(const InputSettings&, std::int64_t /*steps*/,
                                                bool /*continues*/) const {
    return std::nullopt;
  }
  // The task's targets from the step whose InputStep::targets_new it set on (the multi task's
  // rates), TaskTargets::width values; recorded to /input/NAME (TaskEntry::targets).
  virtual const std::vector<double>& targets() const {
    static const std::vector<double> none;
    return none;
  }
};

// What a task records besides its spikes and labels: values that change at some steps (the
// multi task's group rates), written as /input/NAME/step [R] (the steps where a row starts)
// and /input/NAME/value [R, width] (docs/output.md). NAME is global among the tasks.
struct TaskTargets {
  std::string name;
  std::string unit;  // of /input/NAME/value
  std::function<std::uint64_t(const Config&)> width;
};

// What a task is built from. Random numbers are keyed by (seed, purpose, entity, counter), so
// that every rank generates the same input without communicating (rng.hpp; a plug-in takes
// plugin_purpose(N)).
struct TaskContext {
  const Config& config;
  const CounterRng& rng;
  const std::vector<LoadedInputFile>& files;  // the file task's sources, loaded
};

// A part of the memory a task needs on every rank, for the estimate before a run.
struct MemoryPart {
  double bytes = 0;
  std::string key;   // the key that sizes it
  std::string what;  // what it is
};

struct TaskEntry {
  std::string help;  // one line for --help: what the channels do
  std::function<std::unique_ptr<InputTask>(const TaskContext&)> make;
  // The keys the task adds (input.NAME_...), string literals, in --help and /config order, of
  // the types integer, real, boolean, real_pair, real_list, text or file_name. build_config
  // checks each against its row's type and range.
  std::vector<options::KeySpec> options = {};
  std::vector<PositionField> position = {};
  // Cross-key checks of the task's keys (a run's Config built, its other keys checked);
  // throw invalid_value. Called for every registered task: check `config.uses_task(name)`
  // for what matters only when a phase runs it.
  std::function<void(const Config&)> check = nullptr;
  std::function<std::vector<MemoryPart>(const Config&)> memory = nullptr;
  std::optional<TaskTargets> targets = std::nullopt;
  // Built, and its position checkpointed, in every run (pattern, xor, file: as checkpoints
  // have always held them); otherwise only in runs whose protocol names it.
  bool in_every_run = false;
};

// Every task, the built-in ones first. Register yours with
//   const bool registered = input_tasks().add("name", {"help", make, ...});
Registry<TaskEntry>& input_tasks();

// Each task's targets are /input/NAME: NAME must be a dataset name, neither one of /input's own
// (spikes, the labels of recordables.hpp) nor another task's, and the entry must say their width.
// Throws std::logic_error naming the task (checked before a run starts).
void check_target_names(const Registry<TaskEntry>& tasks = input_tasks());

// The value of a key of the option table, as build_config checked it (the table's default
// for a Config not made by build_config). For the keys that tasks add.
const std::string& option_text(const Config& config, const std::string& key);
std::int64_t integer_option(const Config& config, const std::string& key);
double real_option(const Config& config, const std::string& key);
std::pair<double, double> real_pair_option(const Config& config, const std::string& key);
// A key in ms as steps of neuron.dt; invalid_value "expected a multiple of neuron.dt in ms"
// when it is not a whole number of them (a task's check calls it to refuse such a value).
std::int64_t steps_option(const Config& config, const std::string& key);

// ConfigError "invalid value 'VALUE' for KEY: ALLOWED" (exit code 2), for a task's checks.
[[noreturn]] void invalid_value(const std::string& key, const std::string& value,
                                const std::string& allowed);

}  // namespace seqlearn
