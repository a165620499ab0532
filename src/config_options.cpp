// The option table: every key of the INI file and of the command line, in --help and /config
// order. It is the one source of truth for the keys' types, allowed values, defaults, units and
// help; --help is generated from it, and Config's member initialisers equal its defaults.
// Its readers are in config_options.hpp; config.cpp builds a Config from it, command_line.cpp
// reads the command line and the --config file with it.
#include "config_options.hpp"

#include <filesystem>
#include <limits>

#include "seqlearn/input_task.hpp"
#include "seqlearn/plasticity.hpp"

namespace seqlearn::options {
namespace {

using enum Type;
using enum Restore;

constexpr KeySpec kKeysBeforeTasks[] = {
    // clang-format off
    // key                       type       range             default     unit      restore
    //  help[, cross-key check: see build_config]
    {"network.grid",             grid,      "",               "10x5",     "",       fixed,
     "WTA circuit grid (docs/model.md 1)"},
    {"network.k_min",            integer,   "[1, 1000]",      "2",        "neurons", fixed,
     "smallest circuit size K"},
    {"network.k_max",            integer,   "[1, 1000]",      "10",       "neurons", fixed,
     "largest circuit size K", ">= network.k_min"},
    {"network.n_inputs",         integer,   "[0, 1000000]",   "100",      "",       fixed,
     "input channels; each projects to every neuron"},
    {"network.connectivity",     choice,    "km2013 | fixed_indegree", "km2013",   "",       fixed,
     "recurrent rule: km2013 (reference code) or fixed_indegree",
     "km2013: at most 4096 circuits (network.grid)"},
    {"network.lambda",           real,      "(0, 1e6]",       "0.088",    "1/grid unit", fixed,
     "distance decay of connection probability"},
    {"network.n_conn",           integer,   "[0, 2147483647]", "1000",     "",       fixed,
     "km2013: connected circuit pairs, capped at C*(C-1)"},
    {"network.wta_indegree",     integer,   "[0, 100000]",    "20",       "",       fixed,
     "fixed_indegree: source circuits per circuit",
     "fixed_indegree: <= C-1 for C circuits (network.grid)"},
    {"network.boundary",         choice,    "open | periodic", "open",     "",       fixed,
     "fixed_indegree grid boundary"},
    {"network.delay",            integer,   "[1, 1000]",      "1",        "steps",  fixed,
     "synaptic delay of every connection"},
    {"network.initial_weights",  choice,    "zero | log_uniform", "zero",     "",       fixed,
     "initial weights (log_uniform: w = log U(0,1))"},
    {"network.p_conn",           real,      "[0, 1]",         "1",        "",       fixed,
     "probability to keep each recurrent neuron-to-neuron synapse of connected circuits "
     "(docs/model.md 11.1; input synapses are always kept)"},
    {"network.train_fraction",   real,      "[0, 1]",         "1",        "",       fixed,
     "probability that a circuit is trained; untrained circuits start at w = log U(0,1) and "
     "never learn (docs/model.md 11.1)"},
    {"neuron.r_max",             real,      "(0, 1e5]",       "100",      "Hz",     may_change,
     "total firing rate r_max of a circuit (M4)"},
    {"neuron.dt",                real,      "(0, 100]",       "1",        "ms",     fixed,
     "time step", "<= neuron.tau_decay, neuron.tau_rise"},
    {"neuron.tau_decay",         real,      "(0, 1e7]",       "20",       "ms",     fixed,
     "EPSP decay time constant tau (M6)", ">= neuron.dt (Euler step of M6)"},
    {"neuron.tau_rise",          real,      "(0, 1e7]",       "2",        "ms",     fixed,
     "EPSP rise time constant tau2 (M6)", ">= neuron.dt (Euler step of M6)"},
    {"plasticity.learning_rate", real,      "(0, 1000]",      "0.05",     "",       may_change,
     "learning rate eta (M7)"},
    {"plasticity.schedule",      plugin,    "plasticity rules",
                                 "variance_tracking", "", may_change,
     "plasticity rule (learning-rate schedule), as listed below the keys: variance_tracking "
     "(M7), inverse_time (M7'), constant (M7''), and any registered one"},
    {"plasticity.use_stp",       boolean,   "",               "true",     "",       fixed,
     "short-term plasticity on recurrent synapses (M12-M13)"},
    {"plasticity.stp_U",         real,      "[0, 1]",         "0.5",      "",       fixed,
     "mean utilisation U of recurrent sources"},
    {"plasticity.stp_D",         real,      "(0, 1e7]",       "110",      "ms",     fixed,
     "mean depression time constant D"},
    {"plasticity.stp_F",         real,      "(0, 1e7]",       "5",        "ms",     fixed,
     "mean facilitation time constant F"},
    {"plasticity.stp_cv",        real,      "[0, 100]",       "0.5",      "",       fixed,
     "coefficient of variation of U, D, F across sources"},
    {"plasticity.train_inputs",  boolean,   "",               "true",     "",       may_change,
     "input synapses learn too (docs/model.md 4.6)"},
    {"input.task",               plugin,    "input tasks",    "pattern",  "",       may_change,
     "input task of train phases (docs/model.md 5, 11.2, 11.6), as listed below the keys: "
     "pattern (noise and frozen patterns), xor (two streams of short patterns), file "
     "(input.file replayed), multi (groups of channels at randomly changing rates), and any "
     "registered one; a phase of run.protocol may name its own", "file: input.file given"},
    {"input.r_input",            real,      "[0, 1e4]",       "5",        "Hz",     fixed,
     "input rate in noise phases and of frozen patterns"},
    {"input.r_noise",            real,      "[0, 1e4]",       "2",        "Hz",     may_change,
     "noise overlaid on patterns"},
    {"input.use_noise",          boolean,   "",               "true",     "",       may_change,
     "Poisson noise on (false: silent noise phases, no overlay)"},
    {"input.t_noise_range",      real_pair, "[0, 1e9]",       "300,500",  "ms",     may_change,
     "noise phase length range MIN,MAX"},
    {"input.n_patterns",         integer,   "[1, 1000]",      "1",        "",       fixed,
     "number of frozen patterns"},
    {"input.t_pattern",          real_list, "(0, 1e9]",       "300",      "ms",     fixed,
     "pattern length: one value, or one per pattern", ">= neuron.dt; 1 or input.n_patterns values"},
    {"input.pattern_sequences",  sequences, "",               "0;0",      "",       may_change,
     "sequences of frozen patterns", "ids < input.n_patterns"},
    {"input.pattern_mode",       choice,    "random_switching | random_independent | alternating",
                                 "random_switching", "", may_change,
     "how the next sequence is chosen"},
    {"input.p_switch",           real,      "[0, 1]",         "0.5",      "",       may_change,
     "random_switching: probability to switch sequence; xor: probability that a half switches "
     "pattern at a window start"},
    {"input.sequence_probs",     real_list, "[0, 1]",         "",         "",       may_change,
     "random_independent: one probability per sequence (empty = uniform)",
     "one per sequence of input.pattern_sequences, summing to 1"},
    {"input.time_warp_range",    real_pair, "(0, 1000]",      "1,1",      "",       may_change,
     "time-warp factor range MIN,MAX per presentation",
     "MIN * shortest input.t_pattern >= neuron.dt"},
    // clang-format on
};

// The input tasks' own keys (input_task.hpp: TaskEntry::options) come here, then these.
constexpr KeySpec kKeysAfterTasks[] = {
    // clang-format off
    {"input.file",               text,      "",               "",         "",       may_change,
     "file task: spike file replayed from each file phase's first step, cyclically: HDF5 "
     "(/spikes/step, /spikes/channel, optional /labels, n_steps, dt) or CSV 'step,channel' "
     "(docs/model.md 11.2)", "channels < network.n_inputs, steps >= 0"},
    {"input.label_file",         text,      "",               "",         "",       may_change,
     "file task: CSV 'step,label' of a CSV input.file (steps without a line: -1); empty = no "
     "labels", "only with a CSV input.file; labels >= -1"},
    {"test.file",                text,      "",               "",         "",       may_change,
     "test phases' file task: their own spike file (held-out data), as input.file; empty = "
     "input.file (with input.label_file)", "as input.file"},
    {"test.label_file",          text,      "",               "",         "",       may_change,
     "test phases' file task: CSV 'step,label' of a CSV test.file", "only with a CSV test.file"},
    {"test.task",                as_input,  "",               "",         "",       may_change,
     "test phases: overrides input.task"},
    {"test.r_input",             as_input,  "",               "",         "",       may_change,
     "test phases: overrides input.r_input"},
    {"test.r_noise",             as_input,  "",               "",         "",       may_change,
     "test phases: overrides input.r_noise"},
    {"test.use_noise",           as_input,  "",               "",         "",       may_change,
     "test phases: overrides input.use_noise"},
    {"test.t_noise_range",       as_input,  "",               "",         "",       may_change,
     "test phases: overrides input.t_noise_range"},
    {"test.pattern_mode",        as_input,  "",               "alternating", "",       may_change,
     "test phases: pattern mode"},
    {"test.p_switch",            as_input,  "",               "",         "",       may_change,
     "test phases: overrides input.p_switch"},
    {"test.sequence_probs",      as_input,  "",               "",         "",       may_change,
     "test phases: overrides input.sequence_probs",
     "one per sequence of input.pattern_sequences, summing to 1"},
    {"test.time_warp_range",     as_input,  "",               "",         "",       may_change,
     "test phases: overrides input.time_warp_range", "MIN * shortest input.t_pattern >= neuron.dt"},
    {"test.reset_transients",    boolean,   "",               "true",     "",       may_change,
     "reset EPSP, STP and readout traces at each test phase"},
    {"run.protocol",             phases,    "",
                                 "train:100000,test:3000", "ms", may_change,
     "phases in order; train learns, test does not"},
    {"run.seed",                 integer,   "[0, 4294967295]", "1",        "",       fixed,
     "master seed of every random number"},
    {"run.threads",              integer,   "[0, 1024]",      "0",        "",       may_change,
     "OpenMP threads per rank; 0 = auto: the cores the rank may run on (capped by "
     "OMP_NUM_THREADS), one per 100 thousand local synapses (docs/parallel.md)"},
    {"run.exchange",             choice,    "auto | allgather | directed", "auto", "",   may_change,
     "how spikes reach other ranks: allgather (every rank gets every spike), directed (only the "
     "ranks that listen to its circuit), auto (directed where docs/scaling.md's cost model says "
     "it pays: many spikes, few listeners per circuit). The results are the same"},
    {"run.partition",            choice,    "auto | strips | tiles", "auto", "",      may_change,
     "the shape of a rank's circuits: strips (whole grid rows, the ends cut anywhere), tiles "
     "(about rectangles: bands of rows, each cut into column ranges), auto (the one whose "
     "ranks listen to fewer sources, measured at set-up; docs/scaling.md). The results are the "
     "same"},
    {"record.neurons",           neurons,   "",               "random:20", "",       may_change,
     "traced neurons (the default takes all neurons of a smaller network)",
     "ids < the network's neurons; an explicit K <= the network's neurons"},
    {"record.dt_rec",            integer,   "[0, 9223372036854775807]",
                                                              "100",      "steps",  may_change,
     "trace sampling interval (0 = no traces)"},
    {"record.trace_phases",      choice,    "all | test | pattern_test",
                                                              "all",      "",       may_change,
     "phases whose steps are traced: all, test phases, or test phases of the pattern task "
     "(the step column shows the gaps)"},
    {"record.weight_traces",     boolean,   "",               "true",     "",       may_change,
     "trace the weights of the traced neurons' synapses too (false: u, p and readout only; "
     "a weight trace holds every synapse of every traced neuron at every sample)"},
    {"record.quantities",        text,      "",               "all",      "",       may_change,
     "recorded quantities: names from the lists at the end, comma-separated, or all, or none "
     "(neuron and synapse quantities go to /traces/NAME, spike quantities to /spikes/NAME)",
     "registered names; a neuron or synapse quantity needs record.dt_rec > 0, a synapse "
     "quantity record.weight_traces = true"},
    {"record.synapses",          auto_bool, "",               "auto",     "",       may_change,
     "write the synapse list and final synaptic state (auto: true up to 10 million synapses)"},
    {"validation.forced_spikes", text,      "",               "",         "",       may_change,
     "CSV 'source,id,step' of forced spikes (docs/model.md 7); empty = off"},
    {"output.file",              file_name, "",
                                 "results/default.h5", "", may_change,
     "output HDF5 file (claimed with FILE.lock while the run lasts)"},
    {"output.overwrite",         boolean,   "",               "false",    "",       may_change,
     "replace an existing output file and checkpoint file"},
    {"output.checkpoint_every_ms", real,      "[0, 1e15]",      "0",        "ms",     may_change,
     "write a checkpoint every this many ms of model time, and at the end (0 = off)",
     "a multiple of neuron.dt"},
    {"output.checkpoint_file",   text,      "",               "",         "",       may_change,
     "checkpoint file (empty: output.file with .ckpt.h5); kept unless output.overwrite",
     "!= output.file"},
    // clang-format on
};

}  // namespace

// Built on first use, after the tasks registered at start-up (plug-ins included). A task
// registered later would have keys that no table holds: refused.
std::span<const KeySpec> key_table() {
  static const std::size_t tasks = input_tasks().entries().size();
  static const std::vector<KeySpec> table = [] {
    std::vector<KeySpec> keys(std::begin(kKeysBeforeTasks), std::end(kKeysBeforeTasks));
    for (const auto& [name, task] : input_tasks().entries())
      keys.insert(keys.end(), task.options.begin(), task.options.end());
    keys.insert(keys.end(), std::begin(kKeysAfterTasks), std::end(kKeysAfterTasks));
    return keys;
  }();
  if (input_tasks().entries().size() != tasks)
    throw std::logic_error(
        "seqlearn: an input task was registered after the option table was built; register "
        "tasks at start-up (docs/extending.md)");
  return table;
}

const KeySpec* find_spec(std::string_view key) {
  for (const auto& spec : key_table())
    if (key == spec.key) return &spec;
  return nullptr;
}

// The spec whose type, range and unit apply to `key` (input.X for test.X).
const KeySpec& typed_spec(std::string_view key) {
  const KeySpec* spec = find_spec(key);
  if (spec != nullptr && spec->type == as_input)
    spec = find_spec("input." + std::string(key.substr(key.find('.') + 1)));
  if (spec == nullptr)
    throw std::logic_error("seqlearn: no option table entry for " + std::string(key));
  return *spec;
}

[[noreturn]] void fail(const std::string& key, const std::string& value,
                       const std::string& allowed) {
  // A long value is shown by its start (a list of thousands of names would bury the reason).
  constexpr std::size_t kShown = 120;
  const std::string shown = value.size() <= kShown ? value
                                                   : value.substr(0, kShown) + "... (" +
                                                         std::to_string(value.size()) + " bytes)";
  throw ConfigError("invalid value '" + shown + "' for " + key + ": " + allowed);
}

// The choices "a | b | c" of a choice key; the registered names of a plug-in key.
std::vector<std::string> choices(const KeySpec& spec) {
  if (spec.type == plugin) {
    if (std::string(spec.range) == "plasticity rules") return plasticity_rules().names();
    if (std::string(spec.range) == "input tasks") return input_tasks().names();
    throw std::logic_error(std::string("seqlearn: no registry '") + spec.range + "' for " +
                           spec.key + " in the option table");
  }
  return split(spec.range, '|');
}

std::string join_choices(const KeySpec& spec) {
  std::string allowed;
  for (const auto& name : choices(spec)) allowed += (allowed.empty() ? "" : " | ") + name;
  return allowed;
}

// What the key allows, as "expected ..." says it; --help shows the same text.
std::string allowed_text(const KeySpec& spec) {
  switch (spec.type) {
    case integer:
      return "an integer in " + interval<std::int64_t>(spec).text();
    case real:
      return "a number in " + interval<double>(spec).text();
    case boolean:
      return "true or false";
    case choice:
    case plugin:
      return "one of " + join_choices(spec);
    case real_pair: {
      const auto range = interval<double>(spec);
      std::ostringstream text;
      text << "MIN,MAX with " << range.low << (range.low_open ? " < " : " <= ") << "MIN <= MAX "
           << (range.high_open ? "< " : "<= ") << range.high;
      return text.str();
    }
    case real_list:
      return "a comma-separated list of numbers in " + interval<double>(spec).text();
    case text:
      return "any text";
    case file_name:
      return "a file name";
    case grid:
      return kGridFormat;
    case sequences:
      return kSequencesFormat;
    case phases:
      return kPhasesFormat;
    case neurons:
      return kNeuronsFormat;
    case auto_bool:
      return "true, false or auto";
    case as_input:
      break;
  }
  return allowed_text(typed_spec(spec.key));
}

// "HELP (UNIT; ALLOWED; CROSS-CHECK) [fixed on --restore] [default: D]" for --help.
std::string help_text(const KeySpec& spec) {
  const KeySpec& typed = typed_spec(spec.key);
  std::string details = *typed.unit ? std::string("unit ") + typed.unit + "; " : "";
  details += allowed_text(typed);
  if (*spec.cross_check) details += "; " + std::string(spec.cross_check);
  std::string help = std::string(spec.help) + " (" + details + ")";
  if (spec.restore == fixed) help += " [fixed on --restore]";
  std::string default_text = *spec.default_value ? spec.default_value : "(none)";
  if (spec.type == as_input && !*spec.default_value)
    default_text = std::string(typed.key) + "'s value";
  return help + " [default: " + default_text + "]";
}

// A file name that can only name a folder ("dir/", ".", "a/..") is refused: the run would
// simulate and then fail to write "dir/.partial".
void check_not_a_folder_name(const std::string& key, const std::string& name) {
  const std::string last = std::filesystem::path(name).filename().string();
  if (last.empty() || last == "." || last == "..")
    fail(key, name,
         "expected a file name, not a folder (e.g. " + (name.back() == '/' ? name : name + "/") +
             "run.h5)");
}

namespace {

// Edit distance (insertions, deletions, substitutions, adjacent swaps), for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

}  // namespace

std::string unknown_key_message(std::string given) {
  given = given.substr(0, given.find('='));  // "--network.gird=3x3": the key alone
  std::string name = given;
  while (!name.empty() && name.front() == '-') name.erase(0, 1);
  const std::string_view options[] = {"config",  "output",  "overwrite", "seed",
                                      "threads", "restore", "help",      "version"};
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  auto consider = [&](std::string_view candidate) {
    const std::size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  };
  for (const auto& spec : key_table()) consider(spec.key);
  for (const auto option : options) consider(option);
  std::string message = "unknown key '" + given + "'";
  if (name.size() > 2 && best_distance <= std::max<std::size_t>(2, name.size() / 3))
    message += "; did you mean '" + best + "'?";
  return message + " (see --help for all keys)";
}
}  // namespace seqlearn::options

namespace seqlearn {

std::string unit_of_key(const std::string& key) {
  return options::find_spec(key) != nullptr ? options::typed_spec(key).unit : "";
}

}  // namespace seqlearn
