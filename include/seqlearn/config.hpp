// The resolved configuration of one run: every key of the option table, validated.
//
// One Boost.Program_options table serves the INI config file and the command line
// (`--SECTION.KEY VALUE`); the command line wins. Every value is checked before anything is
// simulated: a bad one throws ConfigError naming the key and what is allowed (exit code 2).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace seqlearn {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Connectivity { km2013, fixed_indegree };
enum class Boundary { open, periodic };
enum class InitialWeights { zero, log_uniform };
enum class PatternMode { random_switching, random_independent, alternating };

// Every member initialiser below is the option table's default (src/config.cpp): Config{} is the
// experiment that make_config({}) resolves (tests/test_config.cpp checks it field by field).
// Enumerators are in the order of their key's choices in the table.

// Input-generator settings (docs/model.md 5); `[input]` for train phases, `[test]` for test phases.
struct InputSettings {
  // The input task's name (input_task.hpp: input_tasks()), as in input.task, run.protocol and
  // /phases/task.
  std::string task = "pattern";
  double r_input_hz = 5.0;
  double r_noise_hz = 2.0;
  bool use_noise = true;
  double t_noise_min_ms = 300.0;
  double t_noise_max_ms = 500.0;
  PatternMode mode = PatternMode::random_switching;
  double p_switch = 0.5;
  std::vector<double> sequence_probs{};  // empty: uniform
  double warp_min = 1.0;
  double warp_max = 1.0;
  // The file task's source: input.file / input.label_file for train phases; test.file /
  // test.label_file for test phases (empty test.file: the train phases' file and labels).
  std::string file{};
  std::string label_file{};
  std::string file_key = "input.file";  // the key that names it, for messages
  std::string label_file_key = "input.label_file";

  bool operator==(const InputSettings&) const = default;
};

// A train phase learns; a test phase does not (and may use other input settings, `[test]`).
enum class PhaseKind { train, test };

// run.exchange: how spikes travel between ranks (spike_exchange.hpp, docs/scaling.md).
enum class ExchangeChoice { automatic, allgather, directed };
// run.partition: the shape of a rank's circuits (partition.hpp, docs/scaling.md).
enum class PartitionChoice { automatic, strips, tiles };

// "train" or "test", as in run.protocol and the output's /phases.
const char* to_string(PhaseKind kind);

struct Phase {
  PhaseKind kind = PhaseKind::train;
  std::int64_t steps = 0;
  bool learning = true;
  // The phase's own task (run.protocol NAME:MS:TASK); empty: input.task / test.task.
  std::optional<std::string> task = std::nullopt;
  // Only for the first phase of a restored run: it continues the checkpointed phase (no
  // generator restart, no transient reset) instead of starting a new one.
  bool continues = false;

  bool operator==(const Phase&) const = default;
};

// A forced spike of validation mode (docs/model.md 7).
struct ForcedSpike {
  std::int64_t step = 0;
  std::uint64_t id = 0;  // channel or neuron id

  bool operator==(const ForcedSpike&) const = default;
};

struct ForcedSpikes {
  bool inputs_forced = false;
  bool neurons_forced = false;
  std::vector<ForcedSpike> inputs;   // sorted by (step, id)
  std::vector<ForcedSpike> neurons;  // sorted by (step, id)

  bool operator==(const ForcedSpikes&) const = default;
};

enum class RecordMode { all, random, range, list };
// record.trace_phases: every phase, test phases, or only test phases of the pattern task.
enum class TracePhases { all, test, pattern_test };

struct Config {
  // [network]
  int rows = 10;
  int cols = 5;
  int k_min = 2;
  int k_max = 10;
  int n_inputs = 100;
  Connectivity connectivity = Connectivity::km2013;
  double lambda = 0.088;
  std::int64_t n_conn = 1000;
  int wta_indegree = 20;
  Boundary boundary = Boundary::open;
  int delay_steps = 1;
  InitialWeights initial_weights = InitialWeights::zero;
  double p_conn = 1.0;          // docs/model.md 11.1: recurrent neuron synapses kept
  double train_fraction = 1.0;  // docs/model.md 11.1: circuits trained
  // [neuron]
  double r_max_hz = 100.0;
  double dt_ms = 1.0;
  double tau_decay_ms = 20.0;
  double tau_rise_ms = 2.0;
  // [plasticity]
  double learning_rate = 0.05;
  std::string schedule = "variance_tracking";  // a plasticity rule's name (plasticity.hpp)
  bool use_stp = true;
  double stp_U = 0.5;
  double stp_D_ms = 110.0;
  double stp_F_ms = 5.0;
  double stp_cv = 0.5;
  bool train_inputs = true;
  // [input] and [test]
  int n_patterns = 1;
  std::vector<double> t_pattern_ms{300.0};
  std::vector<std::vector<int>> sequences{{0}, {0}};
  InputSettings train_input;
  InputSettings test_input{.mode = PatternMode::alternating};
  bool reset_transients = true;
  // The keys that input tasks add (input.t_pattern_xor, input.multi_*, ...) have no member:
  // their task reads them from `resolved` (input_task.hpp: real_option and the like).
  std::string input_file;  // file task: spikes (HDF5 or CSV `step,channel`)
  std::string label_file;  // file task: labels (CSV `step,label`) of a CSV spike file
  // [run]
  std::vector<Phase> protocol{{.kind = PhaseKind::train, .steps = 100000, .learning = true},
                              {.kind = PhaseKind::test, .steps = 3000, .learning = false}};
  std::uint32_t seed = 1;
  int threads = 0;
  ExchangeChoice exchange = ExchangeChoice::automatic;
  PartitionChoice partition = PartitionChoice::automatic;
  // [record]
  RecordMode record_mode = RecordMode::random;
  std::vector<std::uint64_t> record_list{20};  // random: {K} (here random:20); range: {A, B}; list
  // random:K by default (not asked for): up to K neurons, all of a smaller network.
  bool record_random_capped = true;
  std::int64_t dt_rec = 100;
  TracePhases trace_phases = TracePhases::all;
  bool record_weight_traces = true;
  // record.quantities: the names of the recorded quantities (recordables.hpp); empty optional:
  // "all", every registered one. Each is recorded where its kind is: neuron quantities when
  // traces are (record.dt_rec), synapse quantities with record.weight_traces too.
  std::optional<std::vector<std::string>> record_quantities;
  bool records(const std::string& quantity) const {
    return !record_quantities || std::find(record_quantities->begin(), record_quantities->end(),
                                           quantity) != record_quantities->end();
  }
  std::optional<bool> record_synapses;  // empty: auto (on up to kAutoSynapseLimit synapses)
  static constexpr double kAutoSynapseLimit = 1e7;
  bool writes_synapses(double total_synapses) const {
    return record_synapses.value_or(total_synapses <= kAutoSynapseLimit);
  }
  // [validation]
  std::string forced_spikes_file;  // read by the I/O library (forced_spikes.hpp)
  // [output]
  std::string output_file = "results/default.h5";
  bool overwrite = false;
  std::int64_t checkpoint_every_steps = 0;                  // 0: no periodic checkpoints
  std::string checkpoint_file = "results/default.ckpt.h5";  // default: output name, .ckpt.h5

  // Every key with its resolved value as text, in table order (written to /config).
  std::vector<std::pair<std::string, std::string>> resolved;

  // Compares every member, `resolved` included (Config{} leaves it empty).
  bool operator==(const Config&) const = default;

  std::int64_t total_steps() const;
  // The input settings of a phase: [input] or [test], with the phase's own task if it names one.
  InputSettings input_settings(const Phase& phase) const;
  // Whether the steps of `phase` are traced (record.trace_phases).
  bool traces_phase(const Phase& phase) const;
  bool uses_task(const std::string& task) const;  // some phase of the protocol runs `task`
  std::string resolved_protocol_text() const;
  // ":TASK" when a phase names its task or runs another than `pattern`, else "" (so that the
  // text of a pattern-only run stays as it was).
  std::string phase_task_text(const Phase& phase) const;
  // The phases from `first` on as run.protocol text, repeated blocks as repeat groups (what a
  // checkpoint stores as the remaining protocol; at most kMaxProtocolText for the whole one).
  std::string protocol_text(
      std::size_t first = 0) const;  // e.g. "train:5000 (continued),test:3000"
  std::int64_t n_circuits() const { return static_cast<std::int64_t>(rows) * cols; }
  double dt_s() const { return dt_ms * 1e-3; }
};

// What the command line asked for besides a configuration.
struct Invocation {
  bool show_help = false;
  bool show_version = false;
  std::string help_text;
  std::string restore_path;  // --restore FILE
  std::string config_path;   // --config FILE
  // Keys given on the command line or in the --config file (not defaults).
  std::vector<std::pair<std::string, std::string>> explicit_values;
  Config config;
};

// Phase texts joined by ',' with runs of a repeated block of up to 32 phases written as
// run.protocol repeat groups: {a, b, a, b, a, b, c} -> "(a,b)*3,c". Parses back to the same list.
std::string join_with_repeat_groups(const std::vector<std::string>& phases);

// The longest run.protocol text a checkpoint can hold (an HDF5 attribute, at most 64 KiB).
constexpr std::size_t kMaxProtocolText = 60000;

// Parses the command line (and the --config file it names). Throws ConfigError.
Invocation parse_command_line(int argc, const char* const* argv);

// Parses only `key=value` overrides on top of the defaults (tests use this).
Config make_config(const std::vector<std::pair<std::string, std::string>>& overrides);

// The configuration of a run restored from a checkpoint: the checkpoint's keys, overridden by
// the ones given explicitly. Keys that fix the network, its random streams or the frozen
// patterns may not change. Without an explicit run.protocol the checkpoint's remaining
// protocol runs, its first phase continuing the checkpointed one when `continues_phase`.
Config resume_config(const std::vector<std::pair<std::string, std::string>>& checkpoint_values,
                     const std::vector<std::pair<std::string, std::string>>& explicit_values,
                     const std::string& remaining_protocol, bool continues_phase);

// ConfigError if record.neurons names a neuron a network of `n_neurons` lacks (build_config
// checks it when the size is cheap to count; the recorder always, with the network's).
void check_record_neurons(const Config& config, std::uint64_t n_neurons);

// The unit of a key's value as the option table states it ("ms", "Hz", ...; "" for none).
std::string unit_of_key(const std::string& key);

}  // namespace seqlearn
