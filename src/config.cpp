#include "seqlearn/config.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "seqlearn/file_safety.hpp"

namespace po = boost::program_options;

namespace seqlearn {
namespace {

// ---------------------------------------------------------------------------------------------
// The option table: every key of the INI file and of the command line, in --help and /config
// order. It is the one source of truth for the keys' types, allowed values, defaults, units and
// help; --help is generated from it, and Config's member initialisers equal its defaults.
// ---------------------------------------------------------------------------------------------

// How a key's text is read, and what `range` means for it.
enum class Type {
  integer,    // range "[LOW, HIGH]"
  real,       // range "[LOW, HIGH]", "(LOW, HIGH]", ...: '(' or ')' excludes the bound
  boolean,    // true | false (also 1 | 0, yes | no, on | off)
  choice,     // range "a | b | c": the names, in the order of the C++ enum's enumerators
  real_pair,  // "MIN,MAX" with MIN <= MAX, both in range
  real_list,  // "A,B,...", each in range; empty allowed
  text,       // any text, empty allowed
  file_name,  // any text but empty
  // Formats of their own, read by build_config:
  grid,       // "ROWSxCOLS"
  sequences,  // pattern ids, ',' within a sequence and ';' between sequences
  phases,     // "NAME:MS,...": run.protocol
  neurons,    // all | random:K | range:A-B | list:I,J,...
  auto_bool,  // true | false | auto
  // test.X: the type, range and unit of input.X; empty = input.X's value (test phases inherit).
  as_input,
};

enum class Restore { may_change, fixed };  // fixed: a checkpoint restores only with that value

struct KeySpec {
  const char* key;
  Type type;
  const char* range;          // what is allowed, for the types that say so above ("" otherwise)
  const char* default_value;  // "" = none
  const char* unit;           // "" = none (a count or a plain number)
  Restore restore;  // fixed: the key fixes the network, its random streams or frozen patterns
  const char* help;
  // Conditions on other keys, checked in build_config (at the line that names the key).
  const char* cross_check = "";
};

using enum Type;
using enum Restore;

constexpr KeySpec kKeys[] = {
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
    {"plasticity.schedule",      choice,    "variance_tracking | inverse_time | constant",
                                 "variance_tracking", "", may_change,
     "learning-rate schedule: variance_tracking (M7), inverse_time (M7'), constant (M7'')"},
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
    {"input.task",               choice,    "pattern | xor | file | multi", "pattern", "", may_change,
     "input task of train phases (docs/model.md 5, 11.2, 11.6): pattern (noise and frozen "
     "patterns), xor (two streams of short patterns), file (input.file replayed) or multi "
     "(groups of channels at randomly changing rates); a phase of run.protocol may name its "
     "own", "file: input.file given"},
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
    {"input.t_pattern_xor",      real,      "(0, 1e9]",       "50",       "ms",     fixed,
     "xor task: length of a window and of its four frozen patterns (two per half of the "
     "channels)", "a multiple of neuron.dt"},
    {"input.multi_groups",       integer,   "[1, 1000000]",   "2",        "",       fixed,
     "multi task: groups of consecutive channels, each at its own rate (docs/model.md 11.6)",
     "<= network.n_inputs"},
    {"input.multi_rate_range",   real_pair, "[0, 1e4]",       "10,80",    "Hz",     fixed,
     "multi task: range MIN,MAX of a group's rate, drawn anew every input.t_multi_window"},
    {"input.t_multi_window",     real,      "(0, 1e9]",       "100",      "ms",     fixed,
     "multi task: how long the groups' rates stay constant", "a multiple of neuron.dt"},
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

// ---------------------------------------------------------------------------------------------
// Reading the table
// ---------------------------------------------------------------------------------------------

const KeySpec* find_spec(std::string_view key) {
  for (const auto& spec : kKeys)
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

// A run's phases together (run.protocol) and km2013's draws (src/network.cpp).
constexpr double kMaxTotalSteps = 1e15;
constexpr double kKm2013Draws = 1e8;

[[noreturn]] void fail(const std::string& key, const std::string& value,
                       const std::string& allowed) {
  throw ConfigError("invalid value '" + value + "' for " + key + ": " + allowed);
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(text);
  while (std::getline(stream, part, separator)) parts.push_back(trim(part));
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

bool parse_double(const std::string& text, double& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(out);
}

bool parse_int(const std::string& text, std::int64_t& out) {
  const std::string t = trim(text);
  const auto result = std::from_chars(t.data(), t.data() + t.size(), out);
  return !t.empty() && result.ec == std::errc() && result.ptr == t.data() + t.size();
}

// A table range "[LOW, HIGH]" ('(' or ')' for an excluded bound), possibly narrowed by a
// cross-key check to a closed bound given by another key.
template <class Number>
struct Interval {
  Number low{}, high{};
  bool low_open = false, high_open = false;

  bool contains(Number x) const {
    return (low_open ? x > low : x >= low) && (high_open ? x < high : x <= high);
  }
  Interval narrowed(std::optional<Number> min, std::optional<Number> max) const {
    Interval result = *this;
    if (min && *min > low) {
      result.low = *min;
      result.low_open = false;
    }
    if (max && *max < high) {
      result.high = *max;
      result.high_open = false;
    }
    return result;
  }
  // "[1, 1000]", "(0, 1e+06]": numbers as the error messages have always printed them.
  std::string text() const {
    std::ostringstream out;
    out << (low_open ? "(" : "[") << low << ", " << high << (high_open ? ")" : "]");
    return out.str();
  }
};

template <class Number>
Interval<Number> interval(const KeySpec& spec) {
  const std::string range = trim(spec.range);
  const auto comma = range.find(',');
  Interval<Number> result;
  bool ok = range.size() >= 5 && comma != std::string::npos &&
            (range.front() == '[' || range.front() == '(') &&
            (range.back() == ']' || range.back() == ')');
  if (ok) {
    result.low_open = range.front() == '(';
    result.high_open = range.back() == ')';
    const std::string low = range.substr(1, comma - 1);
    const std::string high = range.substr(comma + 1, range.size() - comma - 2);
    if constexpr (std::is_integral_v<Number>) {
      ok = parse_int(low, result.low) && parse_int(high, result.high) && !result.low_open &&
           !result.high_open;
    } else {
      ok = parse_double(low, result.low) && parse_double(high, result.high);
    }
  }
  if (!ok)
    throw std::logic_error(std::string("seqlearn: bad range '") + spec.range + "' for " + spec.key +
                           " in the option table");
  return result;
}

// The choices "a | b | c" of a choice key.
std::vector<std::string> choices(const KeySpec& spec) {
  return split(spec.range, '|');
}

std::string join_choices(const KeySpec& spec) {
  std::string allowed;
  for (const auto& name : choices(spec)) allowed += (allowed.empty() ? "" : " | ") + name;
  return allowed;
}

// The formats of the types that have their own, as error messages and --help state them.
constexpr const char* kGridFormat =
    "ROWSxCOLS with ROWS, COLS >= 1 and at most 2147483647 circuits";
constexpr const char* kSequencesFormat =
    "pattern ids, ',' within a sequence and ';' between sequences (e.g. 0,1;2)";
constexpr const char* kPhasesFormat =
    "phases NAME:MS[:TASK] separated by ',', NAME train or test, MS > 0 and a multiple of "
    "neuron.dt, TASK pattern, xor, file or multi (default input.task / test.task); (PHASES)*N repeats "
    "PHASES N times (e.g. train:100000,test:3000 or test:3000,(train:5000,test:50000:xor)*20)";
constexpr const char* kNeuronsFormat = "all | random:K | range:A-B | list:I,J,... (neuron ids)";

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

// ---------------------------------------------------------------------------------------------
// Typed values: each accessor checks the table's type and range of its key, and names the key
// when it fails. Cross-key checks narrow a range (`min`, `max`) or check after reading.
// ---------------------------------------------------------------------------------------------

// `ms` as a whole number of time steps of `dt_ms`; empty if it is not a multiple of dt.
std::optional<std::int64_t> whole_steps(double ms, double dt_ms) {
  const double steps = ms / dt_ms;
  if (std::abs(steps - std::round(steps)) > 1e-9 * std::max(1.0, steps)) return std::nullopt;
  if (ms > 0 && std::llround(steps) == 0) return std::nullopt;  // 1e-300 ms is not 0 steps
  return std::llround(steps);
}

class Values {
 public:
  // `given`: the keys whose value was asked for (command line, config file, overrides), as
  // opposed to the table's default; only record.neurons' default means something else.
  explicit Values(std::map<std::string, std::string> values, std::set<std::string> given = {})
      : values_(std::move(values)), given_(std::move(given)) {}

  bool given(const std::string& key) const { return given_.contains(key); }

  const std::string& text(const std::string& key) const { return values_.at(key); }
  bool has(const std::string& key) const { return !values_.at(key).empty(); }

  std::int64_t integer(const std::string& key, std::optional<std::int64_t> min = {},
                       std::optional<std::int64_t> max = {}) const {
    const auto range = interval<std::int64_t>(spec(key, Type::integer)).narrowed(min, max);
    std::int64_t value = 0;
    if (!parse_int(text(key), value) || !range.contains(value))
      fail(key, text(key), "expected an integer in " + range.text());
    return value;
  }

  // `allowed` replaces the message when `min` comes from a cross-key check that needs words.
  double real(const std::string& key, std::optional<double> min = {},
              const std::string& allowed = "") const {
    const auto range = interval<double>(spec(key, Type::real)).narrowed(min, {});
    double value = 0;
    if (!parse_double(text(key), value) || !range.contains(value))
      fail(key, text(key), allowed.empty() ? "expected a number in " + range.text() : allowed);
    return value;
  }

  // A real key in ms that must be a whole number of time steps (cross-key: neuron.dt).
  std::int64_t steps(const std::string& key, double dt_ms, const std::string& allowed) const {
    const auto steps = whole_steps(real(key), dt_ms);
    if (!steps) fail(key, text(key), allowed);
    return *steps;
  }

  bool boolean(const std::string& key) const {
    spec(key, Type::boolean);
    return read_boolean(key, "expected true or false");
  }

  // Empty when auto.
  std::optional<bool> auto_boolean(const std::string& key) const {
    spec(key, Type::auto_bool);
    if (trim(text(key)) == "auto") return std::nullopt;
    return read_boolean(key, "expected true, false or auto");
  }

  // The enumerator at the position of the value among the table's choices.
  template <class Enum>
  Enum choice(const std::string& key) const {
    const KeySpec& s = spec(key, Type::choice);
    const auto names = choices(s);
    const auto it = std::find(names.begin(), names.end(), trim(text(key)));
    if (it == names.end()) fail(key, text(key), "expected one of " + join_choices(s));
    return static_cast<Enum>(it - names.begin());
  }

  // "MIN,MAX" with MIN <= MAX, both in the table's range.
  std::pair<double, double> real_pair(const std::string& key) const {
    const KeySpec& s = spec(key, Type::real_pair);
    const auto range = interval<double>(s);
    const auto parts = split(text(key), ',');
    double a = 0, b = 0;
    const bool ok = parts.size() == 2 && parse_double(parts[0], a) && parse_double(parts[1], b) &&
                    range.contains(a) && range.contains(b) && a <= b;
    if (!ok) fail(key, text(key), "expected " + allowed_text(s));
    return {a, b};
  }

  std::vector<double> real_list(const std::string& key, std::optional<double> min = {}) const {
    const auto range = interval<double>(spec(key, Type::real_list)).narrowed(min, {});
    std::vector<double> result;
    if (!has(key)) return result;
    for (const auto& part : split(text(key), ',')) {
      double value = 0;
      if (!parse_double(part, value) || !range.contains(value))
        fail(key, text(key), "expected a comma-separated list of numbers in " + range.text());
      result.push_back(value);
    }
    return result;
  }

  std::string text_value(const std::string& key) const {
    spec(key, Type::text);
    return trim(text(key));
  }

  std::string file_name(const std::string& key) const {
    const std::string name = trim(text(spec(key, Type::file_name).key));
    if (name.empty()) fail(key, name, "expected " + allowed_text(spec(key, Type::file_name)));
    check_not_a_folder_name(key, name);
    return name;
  }

 private:
  // The key's table entry, which must be of the type that the accessor reads.
  static const KeySpec& spec(const std::string& key, Type type) {
    const KeySpec& s = typed_spec(key);
    if (s.type != type) throw std::logic_error("seqlearn: " + key + " is read with the wrong type");
    return s;
  }

  bool read_boolean(const std::string& key, const std::string& allowed) const {
    std::string value = trim(text(key));
    std::transform(value.begin(), value.end(), value.begin(), ::tolower);
    if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
    if (value == "false" || value == "0" || value == "no" || value == "off") return false;
    fail(key, text(key), allowed);
  }

  std::map<std::string, std::string> values_;
  std::set<std::string> given_;
};

// ---------------------------------------------------------------------------------------------
// The keys with formats of their own, and the cross-key checks
// ---------------------------------------------------------------------------------------------

std::pair<int, int> parse_grid(const Values& v) {
  const std::string key = "network.grid";
  const auto parts = split(v.text(key), 'x');
  std::int64_t rows = 0, cols = 0;
  if (parts.size() != 2 || !parse_int(parts[0], rows) || !parse_int(parts[1], cols) || rows < 1 ||
      cols < 1 || rows > std::numeric_limits<std::int32_t>::max() ||
      cols > std::numeric_limits<std::int32_t>::max() ||
      rows * cols > std::numeric_limits<std::int32_t>::max())
    fail(key, v.text(key), std::string("expected ") + kGridFormat);
  return {static_cast<int>(rows), static_cast<int>(cols)};
}

// Test phases read test.X where it is given, input.X otherwise.
InputSettings parse_input(const Values& v, const std::string& section, const InputSettings* base) {
  auto key = [&](const char* name) {
    const std::string own = section + "." + name;
    return (base == nullptr || v.has(own)) ? own : std::string("input.") + name;
  };
  InputSettings s;
  s.task = v.choice<InputTask>(key("task"));
  s.r_input_hz = v.real(key("r_input"));
  s.r_noise_hz = v.real(key("r_noise"));
  s.use_noise = v.boolean(key("use_noise"));
  std::tie(s.t_noise_min_ms, s.t_noise_max_ms) = v.real_pair(key("t_noise_range"));
  s.mode = v.choice<PatternMode>(key("pattern_mode"));
  s.p_switch = v.real(key("p_switch"));
  s.sequence_probs = v.real_list(key("sequence_probs"));
  std::tie(s.warp_min, s.warp_max) = v.real_pair(key("time_warp_range"));
  return s;
}

// Cross-key check of input.pattern_sequences: ids < input.n_patterns.
std::vector<std::vector<int>> parse_sequences(const Values& v, int n_patterns) {
  const std::string key = "input.pattern_sequences";
  std::vector<std::vector<int>> sequences;
  for (const auto& sequence_text : split(v.text(key), ';')) {
    std::vector<int> sequence;
    for (const auto& id_text : split(sequence_text, ',')) {
      std::int64_t id = 0;
      if (!parse_int(id_text, id) || id < 0 || id >= n_patterns)
        fail(key, v.text(key),
             "expected pattern ids in [0, " + std::to_string(n_patterns - 1) +
                 "], ',' within a sequence and ';' between sequences (e.g. 0,1;2)");
      sequence.push_back(static_cast<int>(id));
    }
    if (sequence.empty())
      fail(key, v.text(key),
           "expected non-empty sequences of pattern ids, ',' within and ';' between");
    sequences.push_back(sequence);
  }
  if (sequences.empty()) fail(key, v.text(key), "expected at least one sequence");
  return sequences;
}

// Cross-key check of input/test.sequence_probs: one per sequence, summing to 1.
void check_sequence_probs(const std::string& key, const Values& v, const InputSettings& s,
                          std::size_t n_sequences) {
  if (s.sequence_probs.empty()) return;
  double total = 0;
  for (double p : s.sequence_probs) total += p;
  if (s.sequence_probs.size() != n_sequences || std::abs(total - 1.0) > 1e-9)
    fail(key, v.text(key),
         "expected " + std::to_string(n_sequences) +
             " probabilities (one per sequence of input.pattern_sequences) summing to 1");
}

// run.protocol's items at the top level: split at the commas outside parentheses. Empty if
// the parentheses do not pair up.
std::optional<std::vector<std::string>> split_protocol(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  int depth = 0;
  for (char ch : text) {
    if (ch == '(') ++depth;
    if (ch == ')' && --depth < 0) return std::nullopt;
    if (ch == ',' && depth == 0) {
      items.push_back(trim(item));
      item.clear();
    } else {
      item += ch;
    }
  }
  if (depth != 0) return std::nullopt;
  items.push_back(trim(item));
  return items;
}

// Protocols expand to at most this many phases, groups nest at most this deep.
constexpr std::size_t kMaxPhases = 1000000;
constexpr int kMaxGroupDepth = 8;

// Appends the phases of `text` (NAME:MS[:TASK] items and (PHASES)*N groups) to `phases`.
void expand_protocol(const Values& v, const std::string& text, double dt_ms, int depth,
                     std::vector<Phase>& phases) {
  const std::string key = "run.protocol";
  const std::string allowed = std::string("expected ") + kPhasesFormat;
  const auto items = split_protocol(text);
  if (!items) fail(key, v.text(key), "unbalanced parentheses; " + allowed);
  for (const auto& item : *items) {
    if (!item.empty() && item.front() == '(') {
      // (PHASES)*N: the group's closing parenthesis is the last one of the item.
      const auto close = item.rfind(')');
      std::int64_t repeats = 0;
      const std::string times = trim(item.substr(close + 1));
      if (times.empty() || times.front() != '*' || !parse_int(times.substr(1), repeats) ||
          repeats < 1)
        fail(key, v.text(key), "a group '" + item + "' needs a repeat count: (PHASES)*N, N >= 1");
      if (depth >= kMaxGroupDepth)
        fail(key, v.text(key),
             "groups nest at most " + std::to_string(kMaxGroupDepth) + " levels deep");
      std::vector<Phase> group;
      expand_protocol(v, item.substr(1, close - 1), dt_ms, depth + 1, group);
      if (static_cast<double>(group.size()) * static_cast<double>(repeats) +
              static_cast<double>(phases.size()) >
          static_cast<double>(kMaxPhases))
        fail(key, v.text(key), "the protocol expands to more than 1000000 phases");
      for (std::int64_t r = 0; r < repeats; ++r)
        phases.insert(phases.end(), group.begin(), group.end());
      continue;
    }
    const auto parts = split(item, ':');
    double ms = 0;
    if ((parts.size() != 2 && parts.size() != 3) || (parts[0] != "train" && parts[0] != "test") ||
        !parse_double(parts[1], ms) || ms <= 0)
      fail(key, v.text(key), allowed);
    const auto steps = whole_steps(ms, dt_ms);
    if (!steps || ms / dt_ms > 1e15) fail(key, v.text(key), allowed);
    const PhaseKind kind = parts[0] == "train" ? PhaseKind::train : PhaseKind::test;
    Phase phase{.kind = kind, .steps = *steps, .learning = kind == PhaseKind::train};
    if (parts.size() == 3) {
      const auto names = choices(*find_spec("input.task"));
      const auto it = std::find(names.begin(), names.end(), parts[2]);
      if (it == names.end())
        fail(key, v.text(key),
             "unknown task '" + parts[2] + "' in '" + item +
                 "'; expected pattern, xor, file or multi");
      phase.task = static_cast<InputTask>(it - names.begin());
    }
    if (phases.size() >= kMaxPhases)
      fail(key, v.text(key), "the protocol expands to more than 1000000 phases");
    phases.push_back(phase);
  }
}

// run.protocol; cross-key: each phase a multiple of neuron.dt.
std::vector<Phase> parse_protocol(const Values& v, double dt_ms) {
  const std::string key = "run.protocol";
  const std::string allowed = std::string("expected ") + kPhasesFormat;
  std::vector<Phase> phases;
  expand_protocol(v, v.text(key), dt_ms, 0, phases);
  if (phases.empty()) fail(key, v.text(key), allowed);
  // The phases together: a step count that overflows (or nearly) is refused here, not by a
  // crash when the run's buffers are sized (D13).
  double total = 0;
  for (const Phase& phase : phases) total += static_cast<double>(phase.steps);
  if (total > kMaxTotalSteps) {
    std::string shown = v.text(key);
    if (shown.size() > 120)
      shown = shown.substr(0, 100) + "...(" + std::to_string(shown.size()) + " characters, " +
              std::to_string(phases.size()) + " phases)";
    char text[160];
    std::snprintf(text, sizeof text,
                  "the phases together last %.4g steps of neuron.dt; at most 1e15 are allowed",
                  total);
    fail(key, shown, text);
  }
  return phases;
}

// km2013 (docs/model.md 1) draws distances until n_conn distinct pairs are marked and gives
// up after 1e8 draws, which on a large grid takes minutes. The expected number of distinct
// pairs after those draws is known beforehand: a pair at distance r is picked by a draw with
// probability q(r) = integral over d in [r-1, r+1) of Exp(lambda)(d) / N(d), N(d) the number
// of ordered pairs with distance in (d-1, d+1] (self pairs included, as in the draw). Pairs
// are grouped by their offset (di, dj); d is integrated on a grid of width 0.01.
double km2013_expected_pairs(int rows, int cols, double lambda, double draws) {
  struct Offset {
    double distance, count;
  };
  std::vector<Offset> offsets;
  for (int di = 0; di < rows; ++di)
    for (int dj = 0; dj < cols; ++dj)
      offsets.push_back(
          {std::hypot(static_cast<double>(di), static_cast<double>(dj)),
           static_cast<double>(rows - di) * (cols - dj) * (di > 0 ? 2 : 1) * (dj > 0 ? 2 : 1)});
  std::sort(offsets.begin(), offsets.end(),
            [](const Offset& a, const Offset& b) { return a.distance < b.distance; });
  std::vector<double> distances, at_most;  // at_most[i]: pairs with distance <= distances[i]
  double running = 0;
  for (const Offset& o : offsets) {
    running += o.count;
    distances.push_back(o.distance);
    at_most.push_back(running);
  }
  const auto pairs_up_to = [&](double x) {  // pairs with distance <= x
    const auto it = std::upper_bound(distances.begin(), distances.end(), x);
    return it == distances.begin() ? 0.0
                                   : at_most[static_cast<std::size_t>(it - distances.begin()) - 1];
  };
  const double h = 0.01;
  const auto cells = static_cast<std::size_t>((distances.back() + 1.0) / h) + 2;
  std::vector<double> prefix(cells + 1, 0.0);  // sum over cells < i of P(d in cell) / N(d)
  for (std::size_t i = 0; i < cells; ++i) {
    const double lo = static_cast<double>(i) * h;
    const double mass = std::exp(-lambda * lo) - std::exp(-lambda * (lo + h));
    const double mid = lo + 0.5 * h;
    const double n = pairs_up_to(mid + 1.0) - pairs_up_to(mid - 1.0);
    prefix[i + 1] = prefix[i] + (n > 0 ? mass / n : 0.0);
  }
  const auto cell_of = [&](double x) {
    return std::min(cells, static_cast<std::size_t>(std::max(0.0, x) / h + 0.5));
  };
  double expected = 0;
  for (const Offset& o : offsets) {
    if (o.distance == 0) continue;  // self pairs mark nothing
    const double q = prefix[cell_of(o.distance + 1.0)] - prefix[cell_of(o.distance - 1.0)];
    if (q <= 0) continue;
    expected += o.count * -std::expm1(draws * std::log1p(-std::min(q, 1.0 - 1e-16)));
  }
  return expected;
}

void parse_record_neurons(const Values& v, Config& c) {
  const std::string key = "record.neurons";
  const std::string text = trim(v.text(key));
  const std::string allowed = std::string("expected ") + kNeuronsFormat;
  const auto colon = text.find(':');
  const std::string mode = text.substr(0, colon);
  const std::string argument = colon == std::string::npos ? "" : text.substr(colon + 1);
  std::int64_t value = 0;
  c.record_list.clear();
  c.record_random_capped = false;
  if (mode == "all" && colon == std::string::npos) {
    c.record_mode = RecordMode::all;
  } else if (mode == "random" && parse_int(argument, value) && value >= 0) {
    c.record_mode = RecordMode::random;
    c.record_list = {static_cast<std::uint64_t>(value)};
    // The default (random:20) asks for up to 20 neurons, so that small networks run; a value
    // that was asked for is exact (more than the network has is an error).
    c.record_random_capped = !v.given(key);
  } else if (mode == "range") {
    const auto parts = split(argument, '-');
    std::int64_t first = 0, last = 0;
    if (parts.size() != 2 || !parse_int(parts[0], first) || !parse_int(parts[1], last) ||
        first < 0 || last < first)
      fail(key, text, allowed);
    c.record_mode = RecordMode::range;
    c.record_list = {static_cast<std::uint64_t>(first), static_cast<std::uint64_t>(last)};
  } else if (mode == "list" && !argument.empty()) {
    c.record_mode = RecordMode::list;
    for (const auto& part : split(argument, ',')) {
      if (!parse_int(part, value) || value < 0) fail(key, text, allowed);
      c.record_list.push_back(static_cast<std::uint64_t>(value));
    }
    std::sort(c.record_list.begin(), c.record_list.end());
    c.record_list.erase(std::unique(c.record_list.begin(), c.record_list.end()),
                        c.record_list.end());
  } else {
    fail(key, text, allowed);
  }
}

// Every key, in table order; the comments name the cross-key checks (the table's cross_check).
Config build_config(const Values& v) {
  Config c;
  std::tie(c.rows, c.cols) = parse_grid(v);
  c.k_min = static_cast<int>(v.integer("network.k_min"));
  c.k_max = static_cast<int>(v.integer("network.k_max", /*min=*/c.k_min));
  c.n_inputs = static_cast<int>(v.integer("network.n_inputs"));
  c.connectivity = v.choice<Connectivity>("network.connectivity");
  if (c.connectivity == Connectivity::km2013 && c.n_circuits() > 4096)
    fail("network.connectivity", "km2013",
         "km2013 enumerates all circuit pairs and is limited to 4096 circuits; use "
         "fixed_indegree for a " +
             v.text("network.grid") + " grid");
  c.lambda = v.real("network.lambda");
  c.n_conn = v.integer("network.n_conn");
  if (c.connectivity == Connectivity::km2013 && c.n_circuits() > 1) {
    const double n = static_cast<double>(c.n_circuits());
    const double target = std::min(static_cast<double>(c.n_conn), n * (n - 1));
    const double expected = km2013_expected_pairs(c.rows, c.cols, c.lambda, kKm2013Draws);
    if (expected < target - 0.5) {
      char text[400];
      std::snprintf(text, sizeof text,
                    "km2013 would mark only about %.0f of the %.0f circuit pairs asked for in 1e8 "
                    "draws with network.lambda %g on a %dx%d grid; lower network.n_conn or "
                    "raise network.lambda",
                    std::floor(expected), target, c.lambda, c.rows, c.cols);
      fail("network.n_conn", v.text("network.n_conn"), text);
    }
  }
  // Checked against the grid only where it is used.
  c.wta_indegree = static_cast<int>(v.integer("network.wta_indegree", {},
                                              c.connectivity == Connectivity::fixed_indegree
                                                  ? std::optional(c.n_circuits() - 1)
                                                  : std::nullopt));
  c.boundary = v.choice<Boundary>("network.boundary");
  c.delay_steps = static_cast<int>(v.integer("network.delay"));
  c.initial_weights = v.choice<InitialWeights>("network.initial_weights");
  c.p_conn = v.real("network.p_conn");
  c.train_fraction = v.real("network.train_fraction");

  c.r_max_hz = v.real("neuron.r_max");
  c.dt_ms = v.real("neuron.dt");
  const std::string euler = "expected a time constant in ms >= neuron.dt (Euler step of M6)";
  c.tau_decay_ms = v.real("neuron.tau_decay", /*min=*/c.dt_ms, euler);
  c.tau_rise_ms = v.real("neuron.tau_rise", /*min=*/c.dt_ms, euler);

  c.learning_rate = v.real("plasticity.learning_rate");
  c.schedule = v.choice<Schedule>("plasticity.schedule");
  c.use_stp = v.boolean("plasticity.use_stp");
  c.stp_U = v.real("plasticity.stp_U");
  c.stp_D_ms = v.real("plasticity.stp_D");
  c.stp_F_ms = v.real("plasticity.stp_F");
  c.stp_cv = v.real("plasticity.stp_cv");
  c.train_inputs = v.boolean("plasticity.train_inputs");

  c.n_patterns = static_cast<int>(v.integer("input.n_patterns"));
  c.t_pattern_ms = v.real_list("input.t_pattern", /*min=*/c.dt_ms);
  if (c.t_pattern_ms.size() == 1)
    c.t_pattern_ms.resize(static_cast<std::size_t>(c.n_patterns), c.t_pattern_ms[0]);
  if (c.t_pattern_ms.size() != static_cast<std::size_t>(c.n_patterns))
    fail("input.t_pattern", v.text("input.t_pattern"),
         "expected one length in ms >= neuron.dt, or one per pattern (input.n_patterns = " +
             std::to_string(c.n_patterns) + ")");
  c.sequences = parse_sequences(v, c.n_patterns);
  c.train_input = parse_input(v, "input", nullptr);
  c.test_input = parse_input(v, "test", &c.train_input);
  check_sequence_probs("input.sequence_probs", v, c.train_input, c.sequences.size());
  check_sequence_probs(
      v.has("test.sequence_probs") ? "test.sequence_probs" : "input.sequence_probs", v,
      c.test_input, c.sequences.size());
  c.reset_transients = v.boolean("test.reset_transients");
  // Cross-key check of input/test.time_warp_range against input.t_pattern and neuron.dt.
  const double shortest = *std::min_element(c.t_pattern_ms.begin(), c.t_pattern_ms.end());
  for (const auto* s : {&c.train_input, &c.test_input}) {
    if (s->warp_min * shortest < c.dt_ms) {
      const std::string key =
          s == &c.train_input ? "input.time_warp_range" : "test.time_warp_range";
      fail(key, v.text(v.has(key) ? key : "input.time_warp_range"),
           "the shortest warped pattern (MIN * shortest input.t_pattern) must last at least "
           "neuron.dt");
    }
  }

  v.steps("input.t_pattern_xor", c.dt_ms, "expected a multiple of neuron.dt in ms");
  c.t_pattern_xor_ms = v.real("input.t_pattern_xor");
  c.multi_groups = static_cast<int>(v.integer("input.multi_groups"));
  std::tie(c.multi_rate_min_hz, c.multi_rate_max_hz) = v.real_pair("input.multi_rate_range");
  v.steps("input.t_multi_window", c.dt_ms, "expected a multiple of neuron.dt in ms");
  c.t_multi_window_ms = v.real("input.t_multi_window");
  c.input_file = v.text_value("input.file");
  c.label_file = v.text_value("input.label_file");
  c.train_input.file = c.input_file;
  c.train_input.label_file = c.label_file;
  const std::string test_file = v.text_value("test.file");
  const std::string test_label_file = v.text_value("test.label_file");
  if (!test_label_file.empty() && test_file.empty())
    fail("test.label_file", test_label_file,
         "test.label_file only together with a CSV test.file (it labels that file's steps)");
  if (test_file.empty()) {
    c.test_input.file = c.input_file;
    c.test_input.label_file = c.label_file;
  } else {
    c.test_input.file = test_file;
    c.test_input.label_file = test_label_file;
    c.test_input.file_key = "test.file";
    c.test_input.label_file_key = "test.label_file";
  }
  c.protocol = parse_protocol(v, c.dt_ms);
  // Cross-key check of input.task: the file task needs its file.
  for (const Phase& phase : c.protocol)
    if (const InputSettings s = c.input_settings(phase);
        s.task == InputTask::file && s.file.empty())
      fail("input.file", "",
           "expected a spike file (HDF5 or CSV 'step,channel'): a phase of run.protocol runs the "
           "file task");
  if (const std::size_t length = c.protocol_text().size(); length > kMaxProtocolText)
    fail("run.protocol", std::to_string(c.protocol.size()) + " phases",
         "a protocol a checkpoint can hold: written with repeat groups it still takes " +
             std::to_string(length) + " characters (at most " + std::to_string(kMaxProtocolText) +
             "); repeat blocks of up to 32 phases with (PHASES)*N, or split the run into restarts");
  if (c.uses_task(InputTask::xor_task) && c.n_inputs < 2)
    fail("network.n_inputs", std::to_string(c.n_inputs),
         "at least 2 input channels: a phase of run.protocol runs the xor task, which splits the "
         "channels into two halves");
  if (c.uses_task(InputTask::multi) && c.multi_groups > c.n_inputs)
    fail("input.multi_groups", std::to_string(c.multi_groups),
         "at most network.n_inputs (" + std::to_string(c.n_inputs) +
             ") groups: a phase of run.protocol runs the multi task, which needs at least one "
             "channel per group");
  if (!c.label_file.empty() && c.input_file.empty())
    fail("input.label_file", c.label_file,
         "input.label_file only together with a CSV input.file (it labels that file's steps)");
  c.seed = static_cast<std::uint32_t>(v.integer("run.seed"));
  c.threads = static_cast<int>(v.integer("run.threads"));

  parse_record_neurons(v, c);
  c.dt_rec = v.integer("record.dt_rec");
  c.trace_phases = v.choice<TracePhases>("record.trace_phases");
  c.record_weight_traces = v.boolean("record.weight_traces");
  c.record_synapses = v.auto_boolean("record.synapses");

  c.forced_spikes_file = v.text_value("validation.forced_spikes");
  c.output_file = v.file_name("output.file");
  c.overwrite = v.boolean("output.overwrite");
  c.checkpoint_every_steps = v.steps("output.checkpoint_every_ms", c.dt_ms,
                                     "expected a multiple of neuron.dt in ms (0 = off)");
  c.checkpoint_file = v.text_value("output.checkpoint_file");
  if (c.checkpoint_file.empty()) {
    const std::string& out = c.output_file;
    const bool h5 = out.size() > 3 && out.compare(out.size() - 3, 3, ".h5") == 0;
    c.checkpoint_file = (h5 ? out.substr(0, out.size() - 3) : out) + ".ckpt.h5";
  } else {
    check_not_a_folder_name("output.checkpoint_file", c.checkpoint_file);
  }
  // The same file by another name ("./o.h5"); symbolic links and hard links are compared by
  // file identity before the run (output_claim.cpp).
  const auto normal = [](const std::string& name) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(name, ec);
    return (ec ? std::filesystem::path(name) : absolute).lexically_normal();
  };
  if (normal(c.checkpoint_file) == normal(c.output_file))
    fail("output.checkpoint_file", c.checkpoint_file, "must differ from output.file");

  for (const auto& spec : kKeys) c.resolved.emplace_back(spec.key, v.text(spec.key));
  return c;
}

po::options_description key_options() {
  po::options_description keys("Model and run keys (INI file sections or --SECTION.KEY VALUE)");
  for (const auto& spec : kKeys)
    keys.add_options()(spec.key, po::value<std::string>()->default_value(spec.default_value, ""),
                       help_text(spec).c_str());
  return keys;
}

// --config: a regular file of at most 1 MiB (a folder, a device or a huge file is a mistake).
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;
void check_config_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw ConfigError("cannot read --config file '" + path + "'");
  if (!fs::is_regular_file(status))
    throw ConfigError("--config '" + path + "' is " +
                      (fs::is_directory(status) ? "a folder" : "not a regular file") +
                      "; expected an INI file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxConfigBytes)
    throw ConfigError("--config file '" + path + "' is " + std::to_string(size) +
                      " bytes; expected an INI file of at most 1 MiB");
}

bool same_boolean(const std::string& a, const std::string& b) {
  auto value = [](std::string text) -> int {
    text = trim(text);
    std::transform(text.begin(), text.end(), text.begin(), ::tolower);
    if (text == "true" || text == "1" || text == "yes" || text == "on") return 1;
    if (text == "false" || text == "0" || text == "no" || text == "off") return 0;
    return -1;
  };
  return value(a) < 0 || value(b) < 0 || value(a) == value(b);  // bad values: build_config says
}

// The shortcuts and their keys on one command line: the same value twice is one value,
// different values are an error naming both (which one would win is not obvious).
void check_aliases(const po::variables_map& vm) {
  struct Alias {
    const char* shortcut;
    const char* key;
  };
  for (const auto& [shortcut, key] :
       {Alias{"output", "output.file"}, Alias{"seed", "run.seed"}, Alias{"threads", "run.threads"},
        Alias{"overwrite", "output.overwrite"}}) {
    if (!vm.count(shortcut) || vm[key].defaulted()) continue;
    const bool flag = std::string_view(shortcut) == "overwrite";
    const std::string a = flag ? "true" : vm[shortcut].as<std::string>();
    const std::string b = vm[key].as<std::string>();
    if (flag ? same_boolean(a, b) : trim(a) == trim(b)) continue;
    throw ConfigError("--" + std::string(shortcut) + (flag ? "" : " '" + a + "'") + " and --" +
                      key + " '" + b + "' disagree; give one of them");
  }
}

std::map<std::string, std::string> to_map(const po::variables_map& vm) {
  std::map<std::string, std::string> values;
  for (const auto& spec : kKeys) values[spec.key] = vm[spec.key].as<std::string>();
  return values;
}

}  // namespace

const char* to_string(PhaseKind kind) {
  return kind == PhaseKind::train ? "train" : "test";
}

const char* to_string(InputTask task) {
  switch (task) {
    case InputTask::pattern:
      return "pattern";
    case InputTask::xor_task:
      return "xor";
    case InputTask::file:
      return "file";
    case InputTask::multi:
      return "multi";
  }
  return "pattern";
}

bool Config::traces_phase(const Phase& phase) const {
  switch (trace_phases) {
    case TracePhases::all:
      return true;
    case TracePhases::test:
      return phase.kind == PhaseKind::test;
    case TracePhases::pattern_test:
      return phase.kind == PhaseKind::test && input_settings(phase).task == InputTask::pattern;
  }
  return true;
}

InputSettings Config::input_settings(const Phase& phase) const {
  InputSettings settings = phase.kind == PhaseKind::test ? test_input : train_input;
  if (phase.task) settings.task = *phase.task;
  return settings;
}

bool Config::uses_task(InputTask task) const {
  for (const Phase& phase : protocol)
    if (input_settings(phase).task == task) return true;
  return false;
}

std::int64_t Config::xor_window_steps() const {
  return std::llround(t_pattern_xor_ms / dt_ms);
}

std::int64_t Config::multi_window_steps() const {
  return std::llround(t_multi_window_ms / dt_ms);
}

std::int64_t Config::total_steps() const {
  std::int64_t total = 0;
  for (const auto& phase : protocol) total += phase.steps;
  return total;
}

std::string join_with_repeat_groups(const std::vector<std::string>& phases) {
  constexpr std::size_t kMaxBlock = 32;
  std::string text;
  const auto append = [&text](const std::string& item) {
    if (!text.empty()) text += ",";
    text += item;
  };
  const std::size_t n = phases.size();
  std::size_t i = 0;
  while (i < n) {
    // The block length p and repeat count r (>= 2) covering the most phases from i.
    std::size_t best_length = 1, best_repeats = 1;
    for (std::size_t length = 1; length <= kMaxBlock && i + 2 * length <= n; ++length) {
      std::size_t repeats = 1;
      while (i + (repeats + 1) * length <= n &&
             std::equal(phases.begin() + static_cast<std::ptrdiff_t>(i),
                        phases.begin() + static_cast<std::ptrdiff_t>(i + length),
                        phases.begin() + static_cast<std::ptrdiff_t>(i + repeats * length)))
        ++repeats;
      if (repeats >= 2 && length * repeats > best_length * best_repeats) {
        best_length = length;
        best_repeats = repeats;
      }
    }
    if (best_repeats < 2) {
      append(phases[i]);
      ++i;
      continue;
    }
    std::string block;
    for (std::size_t k = i; k < i + best_length; ++k) block += (k > i ? "," : "") + phases[k];
    append("(" + block + ")*" + std::to_string(best_repeats));
    i += best_length * best_repeats;
  }
  return text;
}

std::string Config::phase_task_text(const Phase& phase) const {
  const InputTask task = input_settings(phase).task;
  return phase.task || task != InputTask::pattern ? std::string(":") + to_string(task)
                                                  : std::string();
}

std::string Config::protocol_text(std::size_t first) const {
  std::vector<std::string> phases;
  for (std::size_t i = first; i < protocol.size(); ++i) {
    std::ostringstream phase;
    phase.precision(17);
    phase << to_string(protocol[i].kind) << ":" << static_cast<double>(protocol[i].steps) * dt_ms
          << phase_task_text(protocol[i]);
    phases.push_back(phase.str());
  }
  return join_with_repeat_groups(phases);
}

std::string Config::resolved_protocol_text() const {
  std::vector<std::string> phases;
  for (const Phase& phase : protocol) {
    std::ostringstream text;
    text << to_string(phase.kind) << ":" << static_cast<double>(phase.steps) * dt_ms;
    if (phase.task) text << ":" << to_string(*phase.task);
    if (phase.continues) text << " (continued)";
    phases.push_back(text.str());
  }
  return join_with_repeat_groups(phases);
}

std::string unit_of_key(const std::string& key) {
  return find_spec(key) != nullptr ? typed_spec(key).unit : "";
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

// The message for an unknown key: the nearest key of the table (or command-line option) when
// it is a likely typo (at most 2 edits, or a third of the name), as "did you mean".
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
  for (const auto& spec : kKeys) consider(spec.key);
  for (const auto option : options) consider(option);
  std::string message = "unknown key '" + given + "'";
  if (name.size() > 2 && best_distance <= std::max<std::size_t>(2, name.size() / 3))
    message += "; did you mean '" + best + "'?";
  return message + " (see --help for all keys)";
}

}  // namespace

Config make_config(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> values;
  for (const auto& spec : kKeys) values[spec.key] = spec.default_value;
  for (const auto& [key, value] : overrides) {
    if (!values.contains(key)) throw ConfigError(unknown_key_message(key));
    values[key] = value;
  }
  std::set<std::string> given;
  for (const auto& [key, value] : overrides) given.insert(key);
  return build_config(Values(values, given));
}

// Boost's error messages substitute the user's text for placeholders such as %invalid_line% or
// %canonical_option%, and loop forever when that text contains the placeholder itself (found by
// fuzz_config: a config line "x%invalid_line%" hung seqlearn_mpi). So what() is called only
// when the input holds no '%'; otherwise the message is built here from the parts.
namespace {
std::string po_message(const po::error& e, bool input_has_percent) {
  if (const auto* syntax = dynamic_cast<const po::invalid_config_file_syntax*>(&e))
    return "expected 'key = value', a [section] or a '#' comment, not '" + syntax->tokens() + "'";
  if (!input_has_percent) return e.what();
  if (const auto* named = dynamic_cast<const po::error_with_option_name*>(&e))
    return "cannot use option '" + named->get_option_name() + "' as given";
  return "cannot parse the command line or --config file";
}
}  // namespace

Invocation parse_command_line(int argc, const char* const* argv) {
  po::options_description general("General options");
  general.add_options()("help,h", "print this help and exit")(
      "version", "print the version and exit")("config", po::value<std::string>(),
                                               "INI configuration file ([section] key = value)")(
      "output", po::value<std::string>(), "output HDF5 file (= --output.file)")(
      "overwrite", "replace an existing output file (= --output.overwrite true)")(
      "seed", po::value<std::string>(), "master seed (= --run.seed)")(
      "threads", po::value<std::string>(), "OpenMP threads per rank, 0 = auto (= --run.threads)")(
      "restore", po::value<std::string>(),
      "continue from a checkpoint: its remaining protocol, or --run.protocol if given");
  const po::options_description keys = key_options();
  po::options_description all;
  all.add(general).add(keys);

  Invocation invocation;
  std::ostringstream help;
  help
      << "Usage: seqlearn_mpi [--config FILE] [--restore CHECKPOINT] [--output FILE.h5] "
         "[--overwrite]\n"
         "                    [--seed N] [--threads N] [--SECTION.KEY VALUE ...]\n\n"
         "Simulates grids of winner-take-all circuits learning with STDP (Klampfl & Maass 2013)\n"
         "and writes one HDF5 file (docs/output.md). Without arguments it runs the default\n"
         "experiment: 10x5 grid, train 100 s, test 3 s, output results/default.h5.\n"
         "Run it under mpirun for several ranks; results are identical for any rank and thread\n"
         "count. The command line overrides the config file.\n\n"
         "Checkpoints: output.checkpoint_every_ms writes FILE.ckpt.h5 periodically and at the "
         "end;\n"
         "SIGTERM/SIGINT stop all ranks at the same step with a checkpoint and a complete output;\n"
         "--restore FILE continues (on any number of ranks, bit-identically) with the remaining\n"
         "protocol, or with --run.protocol and other [input]/[test]/[record]/[output] keys.\n\n"
         "Exit codes: 0 success; 1 runtime failure (one rank's error aborts the job; diverging\n"
         "dynamics stop every rank); 2 bad input (nothing simulated or written); 3 stopped by\n"
         "SIGTERM/SIGINT (checkpoint written).\n\n"
      << all;
  invocation.help_text = help.str();

  po::variables_map vm;
  bool input_has_percent = false;
  for (int i = 0; i < argc; ++i)
    input_has_percent = input_has_percent || std::strchr(argv[i], '%') != nullptr;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    check_aliases(vm);  // before the config file's values join the command line's
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      check_config_file(path);
      // Without blocking: a "regular" file of /proc such as /proc/kmsg would wait forever.
      std::string text = read_regular_file("--config", path, kMaxConfigBytes);
      if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 byte-order mark
      input_has_percent = input_has_percent || text.find('%') != std::string::npos;
      std::istringstream stream(text);
      po::options_description file_keys;
      file_keys.add(keys);
      try {
        po::store(po::parse_config_file(stream, file_keys, false), vm);
      } catch (const po::unknown_option&) {
        throw;  // names the key
      } catch (const po::error& e) {
        throw ConfigError("--config file '" + path + "': " + po_message(e, input_has_percent));
      }
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    throw ConfigError(unknown_key_message(e.get_option_name()));
  } catch (const po::error& e) {
    throw ConfigError(po_message(e, input_has_percent));
  }
  invocation.show_help = vm.count("help") > 0;
  invocation.show_version = vm.count("version") > 0;
  if (invocation.show_help || invocation.show_version) return invocation;

  std::map<std::string, std::string> given;
  for (const auto& spec : kKeys)
    if (!vm[spec.key].defaulted()) given[spec.key] = vm[spec.key].as<std::string>();
  if (vm.count("output")) given["output.file"] = vm["output"].as<std::string>();
  if (vm.count("overwrite")) given["output.overwrite"] = "true";
  if (vm.count("seed")) given["run.seed"] = vm["seed"].as<std::string>();
  if (vm.count("threads")) given["run.threads"] = vm["threads"].as<std::string>();
  invocation.explicit_values.assign(given.begin(), given.end());
  if (vm.count("config")) invocation.config_path = vm["config"].as<std::string>();
  if (vm.count("restore")) {
    invocation.restore_path = vm["restore"].as<std::string>();
    return invocation;  // the configuration comes from the checkpoint (resume_config)
  }
  auto values = to_map(vm);
  std::set<std::string> given_keys;
  for (const auto& [key, value] : given) {
    values[key] = value;
    given_keys.insert(key);
  }
  invocation.config = build_config(Values(values, given_keys));
  return invocation;
}

Config resume_config(const std::vector<std::pair<std::string, std::string>>& checkpoint_values,
                     const std::vector<std::pair<std::string, std::string>>& explicit_values,
                     const std::string& remaining_protocol, bool continues_phase) {
  std::map<std::string, std::string> values;
  for (const auto& spec : kKeys) values[spec.key] = spec.default_value;
  for (const auto& [key, value] : checkpoint_values) {
    if (!values.contains(key))
      throw ConfigError("--restore: the checkpoint has the key '" + key +
                        "', unknown to this version of seqlearn_mpi");
    values[key] = value;
  }
  bool protocol_given = false;
  for (const auto& [key, value] : explicit_values) {
    const KeySpec* spec = find_spec(key);
    if (spec != nullptr && spec->restore == fixed && trim(value) != trim(values[key]))
      fail(key, value,
           "a checkpoint written with " + key + " = " + values[key] +
               " cannot be restored with another value");
    protocol_given |= key == "run.protocol";
    values[key] = value;
  }
  if (!protocol_given) {
    if (remaining_protocol.empty())
      throw ConfigError(
          "--restore: the checkpointed run's protocol is complete; give run.protocol "
          "(e.g. --run.protocol test:3000) for the phases to run");
    values["run.protocol"] = remaining_protocol;
  }
  // A checkpoint's value that is the table's default counts as not given (record.neurons).
  std::set<std::string> given;
  for (const auto& [key, value] : checkpoint_values)
    if (const KeySpec* spec = find_spec(key); spec && trim(value) != spec->default_value)
      given.insert(key);
  for (const auto& [key, value] : explicit_values) given.insert(key);
  Config config = build_config(Values(values, given));
  if (!protocol_given && continues_phase) config.protocol.front().continues = true;
  return config;
}

ForcedSpikes load_forced_spikes(const std::string& path, int n_inputs, std::uint64_t n_neurons,
                                std::int64_t total_steps) {
  const std::string key = "validation.forced_spikes";
  constexpr std::uint64_t kMaxForcedSpikesBytes = std::uint64_t{1} << 30;
  std::istringstream file(read_regular_file(key, path, kMaxForcedSpikesBytes));
  ForcedSpikes forced;
  std::string line;
  std::int64_t line_number = 0;
  auto bad = [&](const std::string& why) {
    throw ConfigError("invalid " + key + " file '" + path + "', line " +
                      std::to_string(line_number) + ": " + why);
  };
  if (!std::getline(file, line)) bad("empty file, expected the header 'source,id,step'");
  ++line_number;
  if (trim(line) != "source,id,step") bad("expected the header 'source,id,step'");
  while (std::getline(file, line)) {
    ++line_number;
    if (trim(line).empty()) continue;
    const auto fields = split(line, ',');
    std::int64_t id = 0, step = 0;
    if (fields.size() != 3 || !parse_int(fields[1], id) || !parse_int(fields[2], step))
      bad("expected 'input|neuron,ID,STEP' with integer ID and STEP");
    if (step < 0 || step >= total_steps)
      bad("step " + fields[2] + " outside the run's steps [0, " + std::to_string(total_steps - 1) +
          "]");
    if (fields[0] == "input") {
      if (id < 0 || id >= n_inputs)
        bad("input id " + fields[1] + " outside [0, " + std::to_string(n_inputs - 1) + "]");
      forced.inputs.push_back({step, static_cast<std::uint64_t>(id)});
    } else if (fields[0] == "neuron") {
      if (id < 0 || static_cast<std::uint64_t>(id) >= n_neurons)
        bad("neuron id " + fields[1] + " outside [0, " + std::to_string(n_neurons - 1) + "]");
      forced.neurons.push_back({step, static_cast<std::uint64_t>(id)});
    } else {
      bad("source '" + fields[0] + "' is neither input nor neuron");
    }
  }
  auto order = [](const ForcedSpike& a, const ForcedSpike& b) {
    return a.step != b.step ? a.step < b.step : a.id < b.id;
  };
  auto same = [](const ForcedSpike& a, const ForcedSpike& b) {
    return a.step == b.step && a.id == b.id;
  };
  for (auto* list : {&forced.inputs, &forced.neurons}) {
    std::sort(list->begin(), list->end(), order);
    list->erase(std::unique(list->begin(), list->end(), same), list->end());
  }
  forced.inputs_forced = !forced.inputs.empty();
  forced.neurons_forced = !forced.neurons.empty();
  return forced;
}

}  // namespace seqlearn
