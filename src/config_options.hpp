// The option table and its typed reading, shared by the three parts of the configuration
// (issue 16; private to src/, not an installed header):
//   config_options.cpp  the table (kKeys): every key with its type, range, default, unit, help;
//                       --help's text, the unit of a key, "did you mean" for an unknown key
//   config.cpp          building and validating a Config from the keys' texts (build_config)
//   command_line.cpp    the command line and the --config file, and a --restore's keys
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/option_spec.hpp"
#include "seqlearn/text.hpp"

namespace seqlearn::options {

// Type, Restore and KeySpec: seqlearn/option_spec.hpp (input tasks bring rows of their own).

// Every key of the table, in --help and /config order.
std::span<const KeySpec> key_table();

// The key's entry; nullptr for a key not in the table.
const KeySpec* find_spec(std::string_view key);

// The spec whose type, range and unit apply to `key` (input.X for test.X).
const KeySpec& typed_spec(std::string_view key);

// ConfigError "invalid value 'VALUE' for KEY: ALLOWED" (exit code 2).
[[noreturn]] void fail(const std::string& key, const std::string& value,
                       const std::string& allowed);

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

// The choices "a | b | c" of a choice key, and the same joined for messages.
std::vector<std::string> choices(const KeySpec& spec);
std::string join_choices(const KeySpec& spec);

// The formats of the types that have their own, as error messages and --help state them.
inline constexpr const char* kGridFormat =
    "ROWSxCOLS with ROWS, COLS >= 1 and at most 2147483647 circuits";
inline constexpr const char* kSequencesFormat =
    "pattern ids, ',' within a sequence and ';' between sequences (e.g. 0,1;2)";
inline constexpr const char* kPhasesFormat =
    "phases NAME:MS[:TASK] separated by ',', NAME train or test, MS > 0 and a multiple of "
    "neuron.dt, TASK an input task: pattern, xor, file, multi or a registered one (default "
    "input.task / test.task); (PHASES)*N repeats PHASES N times (e.g. train:100000,test:3000 or test:3000,(train:5000,test:50000:xor)*20)";
inline constexpr const char* kNeuronsFormat = "all | random:K | range:A-B | list:I,J,... (neuron ids)";

// What the key allows, as "expected ..." says it; --help shows the same text.
std::string allowed_text(const KeySpec& spec);

// "HELP (UNIT; ALLOWED; CROSS-CHECK) [fixed on --restore] [default: D]" for --help.
std::string help_text(const KeySpec& spec);

// A file name that can only name a folder ("dir/", ".", "a/..") is refused: the run would
// simulate and then fail to write "dir/.partial".
void check_not_a_folder_name(const std::string& key, const std::string& name);

// The message for an unknown key, with the nearest key as "did you mean" when it is a likely
// typo.
std::string unknown_key_message(std::string given);

// ---------------------------------------------------------------------------------------------
// Typed values: each accessor checks the table's type and range of its key, and names the key
// when it fails. Cross-key checks narrow a range (`min`, `max`) or check after reading.
// ---------------------------------------------------------------------------------------------

// `ms` as a whole number of time steps of `dt_ms`; empty if it is not a multiple of dt.
inline std::optional<std::int64_t> whole_steps(double ms, double dt_ms) {
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

  // A registered plug-in's name (Type::plugin).
  std::string plugin_name(const std::string& key) const {
    const KeySpec& s = spec(key, Type::plugin);
    const auto names = choices(s);
    const std::string name = trim(text(key));
    if (std::find(names.begin(), names.end(), name) == names.end())
      fail(key, text(key), "expected one of " + join_choices(s));
    return name;
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

// Every key, validated, with its cross-key checks (config.cpp).
Config build_config(const Values& v);

}  // namespace seqlearn::options
