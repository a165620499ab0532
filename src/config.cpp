#include "seqlearn/config.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace po = boost::program_options;

namespace seqlearn {
namespace {

// The option table: key, default ("" = none), help text with unit. Order = --help order.
struct KeySpec {
  const char* key;
  const char* default_value;
  const char* help;
};

constexpr KeySpec kKeys[] = {
    {"network.grid", "10x5", "WTA circuit grid, ROWSxCOLS (MODEL 1)"},
    {"network.k_min", "2", "smallest circuit size K, neurons (integer 1..1000)"},
    {"network.k_max", "10", "largest circuit size K, neurons (integer k_min..1000)"},
    {"network.n_inputs", "100", "input channels; each projects to every neuron (0..1000000)"},
    {"network.connectivity", "km2013",
     "recurrent rule: km2013 (reference code, grids up to 4096 circuits) | fixed_indegree"},
    {"network.lambda", "0.088", "distance decay of connection probability, 1/grid units (>0)"},
    {"network.n_conn", "1000", "km2013: connected circuit pairs, capped at C*(C-1) (>=0)"},
    {"network.wta_indegree", "20", "fixed_indegree: source circuits per circuit (0..C-1)"},
    {"network.boundary", "open", "fixed_indegree grid boundary: open | periodic"},
    {"network.delay", "1", "synaptic delay of every connection, steps (1..1000)"},
    {"network.initial_weights", "zero", "initial weights: zero | log_uniform (w = log U(0,1))"},
    {"neuron.r_max", "100", "total firing rate of a circuit r_max, Hz (M4; >0)"},
    {"neuron.dt", "1", "time step, ms (>0, <= tau_rise)"},
    {"neuron.tau_decay", "20", "EPSP decay time constant tau, ms (M6; >= dt)"},
    {"neuron.tau_rise", "2", "EPSP rise time constant tau2, ms (M6; >= dt)"},
    {"plasticity.learning_rate", "0.05", "learning rate eta (M7; >0, <=10)"},
    {"plasticity.schedule", "variance_tracking",
     "learning-rate schedule: variance_tracking (M7) | inverse_time (M7') | constant (M7'')"},
    {"plasticity.use_stp", "true", "short-term plasticity on recurrent synapses (M12-M13)"},
    {"plasticity.stp_U", "0.5", "mean utilisation U of recurrent sources (0..1)"},
    {"plasticity.stp_D", "110", "mean depression time constant D, ms (>0)"},
    {"plasticity.stp_F", "5", "mean facilitation time constant F, ms (>0)"},
    {"plasticity.stp_cv", "0.5", "coefficient of variation of U, D, F across sources (>=0)"},
    {"plasticity.train_inputs", "true", "input synapses learn too (MODEL 4.6)"},
    {"input.r_input", "5", "input rate in noise phases and of frozen patterns, Hz (0..10000)"},
    {"input.r_noise", "2", "noise overlaid on patterns, Hz (0..10000)"},
    {"input.use_noise", "true", "Poisson noise on (false: silent noise phases, no overlay)"},
    {"input.t_noise_range", "300,500", "noise phase length range MIN,MAX, ms (0 <= MIN <= MAX)"},
    {"input.n_patterns", "1", "number of frozen patterns (1..1000)"},
    {"input.t_pattern", "300", "pattern length, ms: one value, or one per pattern (>= dt)"},
    {"input.pattern_sequences", "0;0", "sequences of pattern ids: ';' between, ',' within"},
    {"input.pattern_mode", "random_switching",
     "next sequence: random_switching | random_independent | alternating"},
    {"input.p_switch", "0.5", "random_switching: probability to switch sequence (0..1)"},
    {"input.sequence_probs", "",
     "random_independent: one probability per sequence (empty = uniform)"},
    {"input.time_warp_range", "1,1",
     "time-warp factor range MIN,MAX per presentation (0 < MIN <= MAX)"},
    {"test.r_input", "", "test phases: overrides input.r_input, Hz"},
    {"test.r_noise", "", "test phases: overrides input.r_noise, Hz"},
    {"test.use_noise", "", "test phases: overrides input.use_noise"},
    {"test.t_noise_range", "", "test phases: overrides input.t_noise_range, ms"},
    {"test.pattern_mode", "alternating", "test phases: pattern mode"},
    {"test.p_switch", "", "test phases: overrides input.p_switch"},
    {"test.sequence_probs", "", "test phases: overrides input.sequence_probs"},
    {"test.time_warp_range", "", "test phases: overrides input.time_warp_range"},
    {"test.reset_transients", "true", "reset EPSP, STP and readout traces at each test phase"},
    {"run.protocol", "train:100000,test:3000",
     "phases NAME:MS in order; train learns, test does not (MS a multiple of dt)"},
    {"run.seed", "1", "master seed of every random number (0..4294967295)"},
    {"run.threads", "0", "OpenMP threads per rank (0 = OpenMP default)"},
    {"record.neurons", "random:20", "traced neurons: all | random:K | range:A-B | list:I,J,..."},
    {"record.dt_rec", "100", "trace sampling interval, steps (0 = no traces)"},
    {"record.synapses", "auto",
     "write the synapse list and final synaptic state: true | false | auto (true up to 10 million synapses)"},
    {"validation.forced_spikes", "",
     "CSV 'source,id,step' of forced spikes (MODEL 7); empty = off"},
    {"output.file", "results/default.h5", "output HDF5 file"},
    {"output.overwrite", "false", "replace an existing output file"},
    {"output.checkpoint_every_ms", "0",
     "write a checkpoint every this many ms of model time, and at the end (0 = off; a multiple of "
     "dt)"},
    {"output.checkpoint_file", "", "checkpoint file (default: the output's name with .ckpt.h5)"},
};

// Keys that fix the network, its random streams or the frozen patterns: a checkpoint can only
// be restored with the values it was written with.
constexpr const char* kFixedOnRestore[] = {
    "network.grid",
    "network.k_min",
    "network.k_max",
    "network.n_inputs",
    "network.connectivity",
    "network.lambda",
    "network.n_conn",
    "network.wta_indegree",
    "network.boundary",
    "network.delay",
    "network.initial_weights",
    "neuron.dt",
    "neuron.tau_decay",
    "neuron.tau_rise",
    "plasticity.use_stp",
    "plasticity.stp_U",
    "plasticity.stp_D",
    "plasticity.stp_F",
    "plasticity.stp_cv",
    "input.n_patterns",
    "input.t_pattern",
    "input.r_input",
    "run.seed",
};

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

// Typed accessors over the string values, each naming its key when it fails.
class Values {
 public:
  explicit Values(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  const std::string& text(const std::string& key) const { return values_.at(key); }
  bool has(const std::string& key) const { return !values_.at(key).empty(); }

  double real(const std::string& key, double low, double high, bool low_open = false,
              const std::string& allowed = "") const {
    double value = 0;
    const bool in_range =
        parse_double(text(key), value) && (low_open ? value > low : value >= low) && value <= high;
    if (!in_range) {
      std::ostringstream message;
      message << "expected a number in " << (low_open ? "(" : "[") << low << ", " << high << "]";
      fail(key, text(key), allowed.empty() ? message.str() : allowed);
    }
    return value;
  }

  std::int64_t integer(const std::string& key, std::int64_t low, std::int64_t high) const {
    std::int64_t value = 0;
    if (!parse_int(text(key), value) || value < low || value > high)
      fail(key, text(key),
           "expected an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
    return value;
  }

  bool boolean(const std::string& key) const {
    std::string value = trim(text(key));
    std::transform(value.begin(), value.end(), value.begin(), ::tolower);
    if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
    if (value == "false" || value == "0" || value == "no" || value == "off") return false;
    fail(key, text(key), "expected true or false");
  }

  template <class Enum>
  Enum choice(const std::string& key,
              const std::vector<std::pair<std::string, Enum>>& options) const {
    std::string allowed;
    for (const auto& [name, value] : options) {
      if (trim(text(key)) == name) return value;
      allowed += (allowed.empty() ? "" : " | ") + name;
    }
    fail(key, text(key), "expected one of " + allowed);
  }

  // "A,B" with low <= A <= B <= high.
  std::pair<double, double> range(const std::string& key, double low, double high,
                                  bool low_open) const {
    const auto parts = split(text(key), ',');
    double a = 0, b = 0;
    const bool ok = parts.size() == 2 && parse_double(parts[0], a) && parse_double(parts[1], b) &&
                    (low_open ? a > low : a >= low) && a <= b && b <= high;
    if (!ok) {
      std::ostringstream message;
      message << "expected MIN,MAX with " << low << (low_open ? " < " : " <= ")
              << "MIN <= MAX <= " << high;
      fail(key, text(key), message.str());
    }
    return {a, b};
  }

  std::vector<double> reals(const std::string& key, double low, double high, bool low_open) const {
    std::vector<double> result;
    if (!has(key)) return result;
    for (const auto& part : split(text(key), ',')) {
      double value = 0;
      if (!parse_double(part, value) || (low_open ? value <= low : value < low) || value > high) {
        std::ostringstream message;
        message << "expected a comma-separated list of numbers in " << (low_open ? "(" : "[") << low
                << ", " << high << "]";
        fail(key, text(key), message.str());
      }
      result.push_back(value);
    }
    return result;
  }

 private:
  std::map<std::string, std::string> values_;
};

InputSettings parse_input(const Values& v, const std::string& section, const InputSettings* base) {
  // A `[test]` key left empty inherits the `[input]` value.
  auto key = [&](const char* name) {
    const std::string own = section + "." + name;
    return (base == nullptr || v.has(own)) ? own : std::string("input.") + name;
  };
  InputSettings s;
  s.r_input_hz = v.real(key("r_input"), 0.0, 1e4);
  s.r_noise_hz = v.real(key("r_noise"), 0.0, 1e4);
  s.use_noise = v.boolean(key("use_noise"));
  std::tie(s.t_noise_min_ms, s.t_noise_max_ms) = v.range(key("t_noise_range"), 0.0, 1e9, false);
  s.mode = v.choice<PatternMode>(key("pattern_mode"),
                                 {{"random_switching", PatternMode::random_switching},
                                  {"random_independent", PatternMode::random_independent},
                                  {"alternating", PatternMode::alternating}});
  s.p_switch = v.real(key("p_switch"), 0.0, 1.0);
  s.sequence_probs = v.reals(key("sequence_probs"), 0.0, 1.0, false);
  std::tie(s.warp_min, s.warp_max) = v.range(key("time_warp_range"), 0.0, 1000.0, true);
  return s;
}

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

std::vector<Phase> parse_protocol(const Values& v, double dt_ms) {
  const std::string key = "run.protocol";
  const std::string allowed =
      "expected phases NAME:MS separated by ',', NAME train or test, MS > 0 and a multiple of "
      "neuron.dt (e.g. train:100000,test:3000)";
  std::vector<Phase> phases;
  for (const auto& item : split(v.text(key), ',')) {
    const auto parts = split(item, ':');
    double ms = 0;
    if (parts.size() != 2 || (parts[0] != "train" && parts[0] != "test") ||
        !parse_double(parts[1], ms) || ms <= 0)
      fail(key, v.text(key), allowed);
    const double steps = ms / dt_ms;
    if (std::abs(steps - std::round(steps)) > 1e-9 * std::max(1.0, steps) || steps > 1e15)
      fail(key, v.text(key), allowed);
    phases.push_back(
        {parts[0], static_cast<std::int64_t>(std::llround(steps)), parts[0] == "train"});
  }
  if (phases.empty()) fail(key, v.text(key), allowed);
  return phases;
}

void parse_record_neurons(const Values& v, Config& c) {
  const std::string key = "record.neurons";
  const std::string text = trim(v.text(key));
  const std::string allowed = "expected all | random:K | range:A-B | list:I,J,... (neuron ids)";
  const auto colon = text.find(':');
  const std::string mode = text.substr(0, colon);
  const std::string argument = colon == std::string::npos ? "" : text.substr(colon + 1);
  std::int64_t value = 0;
  if (mode == "all" && colon == std::string::npos) {
    c.record_mode = RecordMode::all;
  } else if (mode == "random" && parse_int(argument, value) && value >= 0) {
    c.record_mode = RecordMode::random;
    c.record_list = {static_cast<std::uint64_t>(value)};
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

Config build_config(const Values& v) {
  Config c;
  {
    const std::string key = "network.grid";
    const auto parts = split(v.text(key), 'x');
    std::int64_t rows = 0, cols = 0;
    if (parts.size() != 2 || !parse_int(parts[0], rows) || !parse_int(parts[1], cols) || rows < 1 ||
        cols < 1 || rows * cols > (std::int64_t{1} << 31))
      fail(key, v.text(key), "expected ROWSxCOLS with ROWS, COLS >= 1 and at most 2^31 circuits");
    c.rows = static_cast<int>(rows);
    c.cols = static_cast<int>(cols);
  }
  c.k_min = static_cast<int>(v.integer("network.k_min", 1, 1000));
  c.k_max = static_cast<int>(v.integer("network.k_max", c.k_min, 1000));
  c.n_inputs = static_cast<int>(v.integer("network.n_inputs", 0, 1000000));
  c.connectivity = v.choice<Connectivity>(
      "network.connectivity",
      {{"km2013", Connectivity::km2013}, {"fixed_indegree", Connectivity::fixed_indegree}});
  if (c.connectivity == Connectivity::km2013 && c.n_circuits() > 4096)
    fail("network.connectivity", "km2013",
         "km2013 enumerates all circuit pairs and is limited to 4096 circuits; use "
         "fixed_indegree for a " +
             v.text("network.grid") + " grid");
  c.lambda = v.real("network.lambda", 0.0, 1e6, true);
  c.n_conn = v.integer("network.n_conn", 0, std::numeric_limits<std::int32_t>::max());
  // Checked against the grid only where it is used.
  c.wta_indegree =
      static_cast<int>(v.integer("network.wta_indegree", 0,
                                 c.connectivity == Connectivity::fixed_indegree
                                     ? std::min<std::int64_t>(c.n_circuits() - 1, 100000)
                                     : 100000));
  c.boundary = v.choice<Boundary>("network.boundary",
                                  {{"open", Boundary::open}, {"periodic", Boundary::periodic}});
  c.delay_steps = static_cast<int>(v.integer("network.delay", 1, 1000));
  c.initial_weights = v.choice<InitialWeights>(
      "network.initial_weights",
      {{"zero", InitialWeights::zero}, {"log_uniform", InitialWeights::log_uniform}});

  c.r_max_hz = v.real("neuron.r_max", 0.0, 1e5, true);
  c.dt_ms = v.real("neuron.dt", 0.0, 100.0, true);
  c.tau_decay_ms = v.real("neuron.tau_decay", c.dt_ms, 1e7, false,
                          "expected a time constant in ms >= neuron.dt (Euler step of M6)");
  c.tau_rise_ms = v.real("neuron.tau_rise", c.dt_ms, 1e7, false,
                         "expected a time constant in ms >= neuron.dt (Euler step of M6)");

  c.learning_rate = v.real("plasticity.learning_rate", 0.0, 10.0, true);
  c.schedule =
      v.choice<Schedule>("plasticity.schedule", {{"variance_tracking", Schedule::variance_tracking},
                                                 {"inverse_time", Schedule::inverse_time},
                                                 {"constant", Schedule::constant}});
  c.use_stp = v.boolean("plasticity.use_stp");
  c.stp_U = v.real("plasticity.stp_U", 0.0, 1.0);
  c.stp_D_ms = v.real("plasticity.stp_D", 0.0, 1e7, true);
  c.stp_F_ms = v.real("plasticity.stp_F", 0.0, 1e7, true);
  c.stp_cv = v.real("plasticity.stp_cv", 0.0, 100.0);
  c.train_inputs = v.boolean("plasticity.train_inputs");

  c.n_patterns = static_cast<int>(v.integer("input.n_patterns", 1, 1000));
  c.t_pattern_ms = v.reals("input.t_pattern", c.dt_ms, 1e9, false);
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

  c.protocol = parse_protocol(v, c.dt_ms);
  c.seed = static_cast<std::uint32_t>(v.integer("run.seed", 0, 4294967295LL));
  c.threads = static_cast<int>(v.integer("run.threads", 0, 1024));

  parse_record_neurons(v, c);
  c.dt_rec = v.integer("record.dt_rec", 0, std::numeric_limits<std::int64_t>::max());
  if (trim(v.text("record.synapses")) != "auto") c.record_synapses = v.boolean("record.synapses");

  c.forced_spikes_file = trim(v.text("validation.forced_spikes"));
  c.output_file = trim(v.text("output.file"));
  if (c.output_file.empty()) fail("output.file", "", "expected a file name");
  c.overwrite = v.boolean("output.overwrite");
  {
    const std::string key = "output.checkpoint_every_ms";
    const double ms = v.real(key, 0.0, 1e15);
    const double steps = ms / c.dt_ms;
    if (std::abs(steps - std::round(steps)) > 1e-9 * std::max(1.0, steps))
      fail(key, v.text(key), "expected a multiple of neuron.dt in ms (0 = off)");
    c.checkpoint_every_steps = std::llround(steps);
  }
  c.checkpoint_file = trim(v.text("output.checkpoint_file"));
  if (c.checkpoint_file.empty()) {
    const std::string& out = c.output_file;
    const bool h5 = out.size() > 3 && out.compare(out.size() - 3, 3, ".h5") == 0;
    c.checkpoint_file = (h5 ? out.substr(0, out.size() - 3) : out) + ".ckpt.h5";
  }
  if (c.checkpoint_file == c.output_file)
    fail("output.checkpoint_file", c.checkpoint_file, "must differ from output.file");

  for (const auto& spec : kKeys) c.resolved.emplace_back(spec.key, v.text(spec.key));
  return c;
}

po::options_description key_options() {
  po::options_description keys("Model and run keys (INI file sections or --SECTION.KEY VALUE)");
  for (const auto& spec : kKeys) {
    std::string help = spec.help;
    help +=
        std::string(" [default: ") + (*spec.default_value ? spec.default_value : "(none)") + "]";
    keys.add_options()(spec.key, po::value<std::string>()->default_value(spec.default_value, ""),
                       help.c_str());
  }
  return keys;
}

std::map<std::string, std::string> to_map(const po::variables_map& vm) {
  std::map<std::string, std::string> values;
  for (const auto& spec : kKeys) values[spec.key] = vm[spec.key].as<std::string>();
  return values;
}

}  // namespace

std::int64_t Config::total_steps() const {
  std::int64_t total = 0;
  for (const auto& phase : protocol) total += phase.steps;
  return total;
}

std::string Config::resolved_protocol_text() const {
  std::ostringstream text;
  for (std::size_t i = 0; i < protocol.size(); ++i) {
    text << (i ? "," : "") << protocol[i].name << ":"
         << static_cast<double>(protocol[i].steps) * dt_ms;
    if (protocol[i].continues) text << " (continued)";
  }
  return text.str();
}

Config make_config(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> values;
  for (const auto& spec : kKeys) values[spec.key] = spec.default_value;
  for (const auto& [key, value] : overrides) {
    if (!values.contains(key)) throw ConfigError("unknown key '" + key + "'");
    values[key] = value;
  }
  return build_config(Values(values));
}

Invocation parse_command_line(int argc, const char* const* argv) {
  po::options_description general("General options");
  general.add_options()("help,h", "print this help and exit")(
      "version", "print the version and exit")("config", po::value<std::string>(),
                                               "INI configuration file ([section] key = value)")(
      "output", po::value<std::string>(), "output HDF5 file (= --output.file)")(
      "overwrite", "replace an existing output file (= --output.overwrite true)")(
      "seed", po::value<std::string>(), "master seed (= --run.seed)")(
      "threads", po::value<std::string>(), "OpenMP threads per rank (= --run.threads)")(
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
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) throw ConfigError("cannot read --config file '" + path + "'");
      po::options_description file_keys;
      file_keys.add(keys);
      po::store(po::parse_config_file(file, file_keys, false), vm);
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    throw ConfigError("unknown key '" + e.get_option_name() + "' (see --help for all keys)");
  } catch (const po::error& e) {
    throw ConfigError(e.what());
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
  if (vm.count("restore")) {
    invocation.restore_path = vm["restore"].as<std::string>();
    return invocation;  // the configuration comes from the checkpoint (resume_config)
  }
  auto values = to_map(vm);
  for (const auto& [key, value] : given) values[key] = value;
  invocation.config = build_config(Values(values));
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
    for (const char* fixed : kFixedOnRestore) {
      if (key == fixed && trim(value) != trim(values[key]))
        fail(key, value,
             "a checkpoint written with " + key + " = " + values[key] +
                 " cannot be restored with another value");
    }
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
  Config config = build_config(Values(values));
  if (!protocol_given && continues_phase) config.protocol.front().continues = true;
  return config;
}

ForcedSpikes load_forced_spikes(const std::string& path, int n_inputs, std::uint64_t n_neurons,
                                std::int64_t total_steps) {
  const std::string key = "validation.forced_spikes";
  std::ifstream file(path);
  if (!file) throw ConfigError("cannot read " + key + " file '" + path + "'");
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
