#include "seqlearn/recorder.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>

namespace seqlearn {
namespace {

// record.neurons' choice over the whole network (check_record_neurons has refused neurons it
// lacks).
std::vector<std::uint64_t> traced_neurons(const Config& config, std::uint64_t n,
                                          const LocalDomain& domain, const CounterRng& rng) {
  switch (config.record_mode) {
    case RecordMode::all: {
      std::vector<std::uint64_t> chosen;
      for (std::uint64_t k = 0; k < domain.n_neurons(); ++k)
        chosen.push_back(domain.global_neuron(k));
      return chosen;
    }
    case RecordMode::random: {
      const std::uint64_t k = std::min<std::uint64_t>(config.record_list[0], n);
      std::set<std::uint64_t> sample;
      for (std::uint64_t j = n - k; j < n; ++j) {
        const auto t = static_cast<std::uint64_t>(
            rng.uniform_int(0, static_cast<std::int64_t>(j), Purpose::record_sample, j, 0));
        sample.insert(sample.contains(t) ? j : t);
      }
      return {sample.begin(), sample.end()};
    }
    case RecordMode::range: {
      std::vector<std::uint64_t> chosen;
      for (std::uint64_t g = config.record_list[0]; g <= config.record_list[1] && g < n; ++g)
        chosen.push_back(g);
      return chosen;
    }
    case RecordMode::list:
      return config.record_list;
  }
  return {};
}

// The quantities of a registry that record.quantities selects, in registry order: their names,
// the entries, and one series each.
template <class Quantity>
void take_quantities(const Config& config, const Registry<Quantity>& registry,
                     std::vector<std::string>& names, std::vector<const Quantity*>& quantities,
                     std::vector<std::vector<double>>& series) {
  for (const auto& [name, quantity] : registry.entries()) {
    if (!config.records(name)) continue;
    names.push_back(name);
    quantities.push_back(&quantity);
  }
  series.resize(quantities.size());
}

// How many of a registry's quantities record.quantities chooses.
template <class Quantity>
double chosen(const Config& config, const Registry<Quantity>& registry) {
  return static_cast<double>(
      std::count_if(registry.entries().begin(), registry.entries().end(),
                    [&](const auto& entry) { return config.records(entry.first); }));
}

}  // namespace

double Recorder::bytes_per_spike(const Config& config) {
  return sizeof(std::int64_t) + sizeof(std::uint64_t) +
         sizeof(double) * chosen(config, spike_quantities());
}

// Labels: an int32 per value and step; targets: a step and a row of doubles, at most one row
// per step of the phases that run the task.
double Recorder::label_bytes(const Config& config) {
  double values = 0;
  for (const auto& [name, label] : input_labels().entries())
    values += static_cast<double>(label.width);
  double bytes = static_cast<double>(config.total_steps()) * sizeof(std::int32_t) * values;
  for (const auto& [name, task] : input_tasks().entries()) {
    if (!task.targets) continue;
    double steps = 0;
    for (const Phase& phase : config.protocol)
      if (config.input_settings(phase).task == name) steps += static_cast<double>(phase.steps);
    bytes += steps * (sizeof(std::int64_t) +
                      sizeof(double) * static_cast<double>(task.targets->width(config)));
  }
  return bytes;
}

bool Recorder::samples_synapses(const Config& config) {
  return config.dt_rec > 0 && config.record_weight_traces &&
         chosen(config, synapse_quantities()) > 0;
}

double Recorder::values_per_traced_neuron(const Config& config, double row_length) {
  return chosen(config, neuron_quantities()) +
         (samples_synapses(config) ? row_length * chosen(config, synapse_quantities()) : 0.0);
}

const std::vector<double>& Record::trace(const std::string& name) const {
  for (std::size_t i = 0; i < trace_names.size(); ++i)
    if (trace_names[i] == name) return traces[i];
  throw std::out_of_range("no recorded neuron quantity '" + name + "'");
}

const std::vector<double>& Record::synapse_trace(const std::string& name) const {
  for (std::size_t i = 0; i < synapse_trace_names.size(); ++i)
    if (synapse_trace_names[i] == name) return synapse_traces[i];
  throw std::out_of_range("no recorded synapse quantity '" + name + "'");
}

const std::vector<std::int32_t>& Record::label(const std::string& name) const {
  for (std::size_t i = 0; i < label_names.size(); ++i)
    if (label_names[i] == name) return labels[i];
  throw std::out_of_range("no input label '" + name + "'");
}

Recorder::Recorder(const Config& config, const Network& network, const LocalDomain& domain,
                   const CounterRng& rng) {
  check_quantity_names();
  check_target_names();
  take_quantities(config, neuron_quantities(), record_.trace_names, quantities_, record_.traces);
  // Without record.weight_traces, /traces/NAME of a synapse quantity has no columns.
  take_quantities(config, synapse_quantities(), record_.synapse_trace_names, synapse_quantities_,
                  record_.synapse_traces);
  records_synapses_ = samples_synapses(config);
  for (const auto& [name, label] : input_labels().entries()) {  // always recorded
    record_.label_names.push_back(name);
    labels_.push_back(&label);
  }
  record_.labels.resize(labels_.size());
  take_quantities(config, spike_quantities(), record_.spike_value_names, spike_quantities_,
                  record_.spike_values);
  for (const auto& [task, entry] : input_tasks().entries())
    if (entry.targets && config.uses_task(task))
      target_widths_[task] = entry.targets->width(config);
  check_record_neurons(config, network.n_neurons());
  for (auto g : traced_neurons(config, network.n_neurons(), domain, rng)) {
    const std::uint64_t k = domain.local_neuron(g);
    if (k == LocalDomain::kNotLocal) continue;
    record_.trace_neurons.push_back(g);
    traced_local_.push_back(k);
  }
}

void Recorder::start(std::int64_t first_step, std::int64_t total_steps, bool inputs_here) {
  record_.first_step = first_step;
  if (!inputs_here) return;
  for (std::size_t l = 0; l < labels_.size(); ++l)
    record_.labels[l].reserve(static_cast<std::size_t>(total_steps) * labels_[l]->width);
}

void Recorder::record_inputs(std::int64_t n, const InputStep& inputs) {
  for (std::size_t l = 0; l < labels_.size(); ++l) {
    std::vector<std::int32_t>& rows = record_.labels[l];
    rows.resize(rows.size() + labels_[l]->width);
    labels_[l]->value(inputs, rows.data() + rows.size() - labels_[l]->width);
  }
  record_.input_step.insert(record_.input_step.end(), inputs.channels.size(), n);
  record_.input_channel.insert(record_.input_channel.end(), inputs.channels.begin(),
                               inputs.channels.end());
  record_.input_from_pattern.insert(record_.input_from_pattern.end(), inputs.from_pattern.begin(),
                                    inputs.from_pattern.end());
}

void Recorder::record_spike_values(const NeuronState& neurons, std::uint64_t k) {
  for (std::size_t q = 0; q < spike_quantities_.size(); ++q)
    record_.spike_values[q].push_back(spike_quantities_[q]->value(neurons, k));
}

void Recorder::check_target_width(std::int64_t n, const std::string& task,
                                  std::size_t values) const {
  const auto width = target_widths_.find(task);
  if (width == target_widths_.end() || width->second != values)
    throw std::logic_error(
        "input task '" + task + "': " + std::to_string(values) + " targets at step " +
        std::to_string(n) + ", not the width its entry says (" +
        (width == target_widths_.end() ? std::string("none") : std::to_string(width->second)) +
        ", TaskTargets::width)");
}

void Recorder::record_traces(std::int64_t n, const NeuronState& neurons) {
  record_.trace_steps.push_back(n);
  for (std::size_t q = 0; q < quantities_.size(); ++q)
    for (auto k : traced_local_) record_.traces[q].push_back(quantities_[q]->value(neurons, k));
}

}  // namespace seqlearn
