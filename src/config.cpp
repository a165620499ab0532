// Building and validating a Config from the texts of the option table's keys (build_config),
// and what a Config says about itself (its protocol as text, the settings of a phase). The
// table is in config_options.cpp, the command line and --restore in command_line.cpp.
#include "seqlearn/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "config_options.hpp"
#include "seqlearn/input_task.hpp"
#include "seqlearn/network.hpp"
#include "seqlearn/recordables.hpp"
#include "seqlearn/text.hpp"

namespace seqlearn {
namespace {

using namespace options;

// A run's phases together (run.protocol) and km2013's draws (src/network.cpp).
constexpr double kMaxTotalSteps = 1e15;
constexpr double kKm2013Draws = 1e8;

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

// "pattern, xor, file or multi": the registered tasks, for messages.
std::string task_names_text() {
  const auto names = input_tasks().names();
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i)
    text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return text;
}

// A key of a type that Values reads without other keys, read once to check it.
void check_type_and_range(const Values& v, const KeySpec& spec) {
  switch (spec.type) {
    case Type::integer:
      v.integer(spec.key);
      return;
    case Type::real:
      v.real(spec.key);
      return;
    case Type::boolean:
      v.boolean(spec.key);
      return;
    case Type::real_pair:
      v.real_pair(spec.key);
      return;
    case Type::real_list:
      v.real_list(spec.key);
      return;
    case Type::text:
      v.text_value(spec.key);
      return;
    case Type::file_name:
      v.file_name(spec.key);
      return;
    default:
      throw std::logic_error(std::string("seqlearn: an input task's key ") + spec.key +
                             " has a type that only build_config reads");
  }
}

// Test phases read test.X where it is given, input.X otherwise.
InputSettings parse_input(const Values& v, const std::string& section, const InputSettings* base) {
  auto key = [&](const char* name) {
    const std::string own = section + "." + name;
    return (base == nullptr || v.has(own)) ? own : std::string("input.") + name;
  };
  InputSettings s;
  s.task = v.plugin_name(key("task"));
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
      if (input_tasks().find(parts[2]) == nullptr)
        fail(key, v.text(key),
             "unknown task '" + parts[2] + "' in '" + item + "'; expected " + task_names_text());
      phase.task = parts[2];
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

// The steps of build_config, in its order (a value is checked after those it depends on, and
// the first bad key is the one reported).

// [network]; cross-key: k_max >= k_min, km2013's size and reachable pairs, wta_indegree < C.
void build_network(const Values& v, Config& c) {
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
}

// [neuron] and [plasticity]; cross-key: the time constants >= neuron.dt.
void build_neuron_and_plasticity(const Values& v, Config& c) {
  c.r_max_hz = v.real("neuron.r_max");
  c.dt_ms = v.real("neuron.dt");
  const std::string euler = "expected a time constant in ms >= neuron.dt (Euler step of M6)";
  c.tau_decay_ms = v.real("neuron.tau_decay", /*min=*/c.dt_ms, euler);
  c.tau_rise_ms = v.real("neuron.tau_rise", /*min=*/c.dt_ms, euler);

  c.learning_rate = v.real("plasticity.learning_rate");
  c.schedule = v.plugin_name("plasticity.schedule");
  c.use_stp = v.boolean("plasticity.use_stp");
  c.stp_U = v.real("plasticity.stp_U");
  c.stp_D_ms = v.real("plasticity.stp_D");
  c.stp_F_ms = v.real("plasticity.stp_F");
  c.stp_cv = v.real("plasticity.stp_cv");
  c.train_inputs = v.boolean("plasticity.train_inputs");
}

// The frozen patterns, their sequences and the [input] / [test] settings of the pattern task.
void build_patterns(const Values& v, Config& c) {
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
}

// The keys that input tasks add, each against its row's type and range (their entries'
// cross-key checks run at the end of build_config, on the built Config).
void check_task_keys(const Values& v) {
  for (const auto& [name, task] : input_tasks().entries())
    for (const KeySpec& spec : task.options) check_type_and_range(v, spec);
}

// The file task's files of train and test phases (kept in InputSettings: the I/O library loads
// them before the generator is built).
void build_task_files(const Values& v, Config& c) {
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
}

// run.protocol with its cross-key checks (the file task's file, a checkpoint's text), then
// run.seed and run.threads.
void build_run(const Values& v, Config& c) {
  c.protocol = parse_protocol(v, c.dt_ms);
  // Cross-key check of input.task: the file task needs its file.
  for (const Phase& phase : c.protocol)
    if (const InputSettings s = c.input_settings(phase); s.task == "file" && s.file.empty())
      fail("input.file", "",
           "expected a spike file (HDF5 or CSV 'step,channel'): a phase of run.protocol runs the "
           "file task");
  if (const std::size_t length = c.protocol_text().size(); length > kMaxProtocolText)
    fail("run.protocol", std::to_string(c.protocol.size()) + " phases",
         "a protocol a checkpoint can hold: written with repeat groups it still takes " +
             std::to_string(length) + " characters (at most " + std::to_string(kMaxProtocolText) +
             "); repeat blocks of up to 32 phases with (PHASES)*N, or split the run into restarts");
  if (!c.label_file.empty() && c.input_file.empty())
    fail("input.label_file", c.label_file,
         "input.label_file only together with a CSV input.file (it labels that file's steps)");
  c.seed = static_cast<std::uint32_t>(v.integer("run.seed"));
  c.threads = static_cast<int>(v.integer("run.threads"));
  c.exchange = v.choice<ExchangeChoice>("run.exchange");
  c.partition = v.choice<PartitionChoice>("run.partition");
}

// record.neurons names only neurons the network has, refused before any part is built: the
// network's size follows from the seed (count_neurons), counted here when that is cheap or
// the lower bound K_min per circuit decides (the recorder checks again with the network).
void check_record_neurons_early(const Config& c) {
  if (c.record_mode == RecordMode::all || c.record_list.empty()) return;
  if (c.record_mode == RecordMode::random && (c.record_random_capped || c.record_list[0] == 0))
    return;
  const auto circuits = static_cast<std::uint64_t>(c.n_circuits());
  const std::uint64_t largest =  // the largest neuron id named (random:K: the K-th)
      c.record_mode == RecordMode::random ? c.record_list[0] - 1 : c.record_list.back();
  if (largest < circuits * static_cast<std::uint64_t>(c.k_min)) return;
  constexpr std::uint64_t kCountedCircuitsAtMost = std::uint64_t{1} << 22;  // a few ms
  if (circuits > kCountedCircuitsAtMost) return;  // the recorder checks, once the network is built
  check_record_neurons(c, count_neurons(c));
}

// record.quantities: all, none, or registered names (recordables.hpp), each recorded where its
// kind is: a name the other record keys would leave out is refused rather than not recorded.
void parse_record_quantities(const Values& v, Config& c) {
  const std::string key = "record.quantities";
  const std::string text = trim(v.text(key));
  c.record_quantities.reset();
  if (text == "all") return;
  c.record_quantities.emplace();
  if (text == "none") return;
  if (text.empty()) fail(key, text, "expected all, none or names of recorded quantities");
  const auto kinds =
      "registered: neuron quantities " + neuron_quantities().joined_names(", ") +
      "; synapse quantities " + synapse_quantities().joined_names(", ") + "; spike quantities " +
      (spike_quantities().entries().empty() ? std::string("(none registered)")
                                            : spike_quantities().joined_names(", ")) +
      "; or all | none";
  for (const auto& part : split(text, ',')) {
    const std::string name = trim(part);
    const bool neuron = neuron_quantities().find(name) != nullptr;
    const bool synapse = synapse_quantities().find(name) != nullptr;
    if (!neuron && !synapse && spike_quantities().find(name) == nullptr)
      fail(key, text, "no recorded quantity '" + name + "' (" + kinds + ")");
    if ((neuron || synapse) && c.dt_rec == 0)
      fail(key, text, "'" + name + "' is sampled every record.dt_rec steps, and record.dt_rec = 0");
    if (synapse && !c.record_weight_traces)
      fail(key, text, "synapse quantity '" + name + "' needs record.weight_traces = true");
    if (!c.records(name)) c.record_quantities->push_back(name);
  }
}

// [record].
void build_record(const Values& v, Config& c) {
  parse_record_neurons(v, c);
  check_record_neurons_early(c);
  c.dt_rec = v.integer("record.dt_rec");
  c.trace_phases = v.choice<TracePhases>("record.trace_phases");
  c.record_weight_traces = v.boolean("record.weight_traces");
  parse_record_quantities(v, c);
  c.record_synapses = v.auto_boolean("record.synapses");
}

// [validation] and [output]; cross-key: the checkpoint file differs from the output file.
void build_output(const Values& v, Config& c) {
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
}

}  // namespace

// Every key, in table order; the comments name the cross-key checks (the table's cross_check).
Config options::build_config(const Values& v) {
  Config c;
  build_network(v, c);
  build_neuron_and_plasticity(v, c);
  build_patterns(v, c);
  check_task_keys(v);
  build_task_files(v, c);
  build_run(v, c);
  build_record(v, c);
  build_output(v, c);
  for (const auto& spec : key_table()) {
    // Every value is stored as an attribute of /config, which HDF5 limits to 64 KiB: refused
    // here rather than when the output is written, after the run.
    constexpr std::size_t kMaxValueBytes = 60000;
    if (v.text(spec.key).size() > kMaxValueBytes)
      fail(spec.key, v.text(spec.key),
           "longer than " + std::to_string(kMaxValueBytes) + " bytes, more than /config can store");
    c.resolved.emplace_back(spec.key, v.text(spec.key));
  }
  // The tasks' cross-key checks read their keys from `resolved`.
  for (const auto& [name, task] : input_tasks().entries())
    if (task.check) task.check(c);
  return c;
}

const char* to_string(PhaseKind kind) {
  return kind == PhaseKind::train ? "train" : "test";
}

bool Config::traces_phase(const Phase& phase) const {
  switch (trace_phases) {
    case TracePhases::all:
      return true;
    case TracePhases::test:
      return phase.kind == PhaseKind::test;
    case TracePhases::pattern_test:
      return phase.kind == PhaseKind::test && input_settings(phase).task == "pattern";
  }
  return true;
}

InputSettings Config::input_settings(const Phase& phase) const {
  InputSettings settings = phase.kind == PhaseKind::test ? test_input : train_input;
  if (phase.task) settings.task = *phase.task;
  return settings;
}

bool Config::uses_task(const std::string& task) const {
  for (const Phase& phase : protocol)
    if (input_settings(phase).task == task) return true;
  return false;
}

void check_record_neurons(const Config& c, std::uint64_t n) {
  if (c.record_mode == RecordMode::all ||
      (c.record_mode == RecordMode::random && c.record_random_capped))
    return;
  const std::string key = "record.neurons";
  const std::string ids = "neuron ids go from 0 to " + std::to_string(n - 1);
  if (c.record_mode == RecordMode::random && c.record_list[0] > n)
    fail(key, "random:" + std::to_string(c.record_list[0]),
         "the network has only " + std::to_string(n) + " neurons");
  if (c.record_mode == RecordMode::range && c.record_list[1] >= n)
    fail(key, "range:" + std::to_string(c.record_list[0]) + "-" + std::to_string(c.record_list[1]),
         ids);
  if (c.record_mode == RecordMode::list && c.record_list.back() >= n)
    throw ConfigError("invalid neuron id " + std::to_string(c.record_list.back()) + " for " + key +
                      ": " + ids);
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
  const std::string& task = input_settings(phase).task;
  return phase.task || task != "pattern" ? ":" + task : std::string();
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
    if (phase.task) text << ":" << *phase.task;
    if (phase.continues) text << " (continued)";
    phases.push_back(text.str());
  }
  return join_with_repeat_groups(phases);
}

Config make_config(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> values;
  for (const auto& spec : options::key_table()) values[spec.key] = spec.default_value;
  for (const auto& [key, value] : overrides) {
    if (!values.contains(key)) throw ConfigError(options::unknown_key_message(key));
    values[key] = value;
  }
  std::set<std::string> given;
  for (const auto& [key, value] : overrides) given.insert(key);
  return options::build_config(options::Values(values, given));
}

}  // namespace seqlearn
