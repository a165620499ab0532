// docs/model.md 7's forced spikes: the CSV `source,id,step` of validation.forced_spikes, read
// and checked against the network's sizes (forced_spikes.hpp). Apart from input_files.cpp so
// that it builds without HDF5 (the fuzz harness fuzz_forced_spikes, tests/fuzz/).
#include "seqlearn/forced_spikes.hpp"

#include <algorithm>
#include <sstream>

#include "seqlearn/file_safety.hpp"
#include "seqlearn/text.hpp"

namespace seqlearn {

ForcedSpikes load_forced_spikes(const std::string& path, int n_inputs, std::uint64_t n_neurons,
                                std::int64_t end_step) {
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
    if (step < 0 || step >= end_step)
      bad("step " + fields[2] + " outside the run's steps [0, " + std::to_string(end_step - 1) +
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
