// The keys that input tasks add, read back from a built Config (input_task.hpp). build_config
// has checked each against its row of the option table, so reading cannot fail here.
#include "seqlearn/input_task.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "config_options.hpp"
#include "seqlearn/recordables.hpp"
#include "seqlearn/text.hpp"

namespace seqlearn {

const std::string& option_text(const Config& config, const std::string& key) {
  for (const auto& [name, value] : config.resolved)
    if (name == key) return value;
  const options::KeySpec* spec = options::find_spec(key);
  if (spec == nullptr) throw std::logic_error("seqlearn: no option table entry for " + key);
  static const std::map<std::string, std::string> defaults = [] {
    std::map<std::string, std::string> texts;
    for (const auto& row : options::key_table()) texts[row.key] = row.default_value;
    return texts;
  }();
  return defaults.at(key);
}

std::int64_t integer_option(const Config& config, const std::string& key) {
  std::int64_t value = 0;
  if (!parse_int(option_text(config, key), value))
    throw std::logic_error("seqlearn: " + key + " is not an integer");
  return value;
}

double real_option(const Config& config, const std::string& key) {
  double value = 0;
  if (!parse_double(option_text(config, key), value))
    throw std::logic_error("seqlearn: " + key + " is not a number");
  return value;
}

std::pair<double, double> real_pair_option(const Config& config, const std::string& key) {
  const auto parts = split(option_text(config, key), ',');
  std::pair<double, double> pair;
  if (parts.size() != 2 || !parse_double(parts[0], pair.first) ||
      !parse_double(parts[1], pair.second))
    throw std::logic_error("seqlearn: " + key + " is not a pair MIN,MAX");
  return pair;
}

std::int64_t steps_option(const Config& config, const std::string& key) {
  const auto steps = options::whole_steps(real_option(config, key), config.dt_ms);
  if (!steps)
    invalid_value(key, option_text(config, key), "expected a multiple of neuron.dt in ms");
  return *steps;
}

void invalid_value(const std::string& key, const std::string& value, const std::string& allowed) {
  options::fail(key, value, allowed);
}

void check_target_names(const Registry<TaskEntry>& tasks) {
  std::vector<std::string> taken = input_labels().names();  // recordables.hpp
  taken.push_back("spikes");
  for (const auto& [task_name, entry] : tasks.entries()) {
    if (!entry.targets) continue;
    const std::string& task = task_name;
    const std::string& name = entry.targets->name;
    const auto refuse = [&](const std::string& why) {
      throw std::logic_error("input task '" + task + "': its targets '" + name + "' " + why +
                             " (docs/extending.md)");
    };
    if (!is_dataset_name(name)) refuse("are not a dataset name");
    if (std::find(taken.begin(), taken.end(), name) != taken.end())
      refuse("take a name already used in /input");
    if (!entry.targets->width) refuse("have no width");
    taken.push_back(name);
  }
}

}  // namespace seqlearn
