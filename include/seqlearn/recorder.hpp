// What one rank records (docs/model.md 8; docs/output.md): its neurons' spikes, the traces of
// its traced neurons (record.neurons) and of their synapses, and, on rank 0 only (every rank has
// the same), the input spikes and the task's labels.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/local_domain.hpp"
#include "seqlearn/network.hpp"
#include "seqlearn/recordables.hpp"
#include "seqlearn/rng.hpp"
#include "seqlearn/state.hpp"

namespace seqlearn {

struct Record {
  std::int64_t first_step = 0;  // step of each label's first row (a restored run starts later)
  std::vector<std::int64_t> spike_step;
  std::vector<std::uint64_t> spike_neuron;
  // Per spike quantity (recordables.hpp), in registry order: one value per spike, as above.
  std::vector<std::string> spike_value_names;
  std::vector<std::vector<double>> spike_values;
  std::vector<std::int64_t> input_step;
  std::vector<std::uint32_t> input_channel;
  std::vector<std::uint8_t> input_from_pattern;
  // Per input label (recordables.hpp), in registry order: [T][its width], on rank 0.
  std::vector<std::string> label_names;
  std::vector<std::vector<std::int32_t>> labels;
  // Per task with targets (input_task.hpp TaskTargets), by the task's name: the steps where a
  // row of targets starts, and the rows, [steps][width].
  struct Targets {
    std::vector<std::int64_t> step;
    std::vector<double> value;
  };
  std::map<std::string, Targets> targets;
  std::vector<std::uint64_t> trace_neurons;  // this rank's traced neurons, ascending
  std::vector<std::int64_t> trace_steps;
  // Per recorded neuron quantity (recordables.hpp), in registry order: [T][trace_neurons].
  std::vector<std::string> trace_names;
  std::vector<std::vector<double>> traces;
  std::vector<std::uint64_t> trace_weight_pre;   // [m] source ids of the traced neurons' synapses
  std::vector<std::uint64_t> trace_weight_post;  // [m]
  // Per recorded synapse quantity (recordables.hpp), in registry order: [T][m], at the end of
  // each step whose synapses are recorded.
  std::vector<std::string> synapse_trace_names;
  std::vector<std::vector<double>> synapse_traces;

  // The samples of neuron quantity `name` (std::out_of_range if it is not recorded).
  const std::vector<double>& trace(const std::string& name) const;
  // The samples of synapse quantity `name` (std::out_of_range if it is not recorded).
  const std::vector<double>& synapse_trace(const std::string& name) const;
  // The rows of input label `name` (std::out_of_range if no label has that name).
  const std::vector<std::int32_t>& label(const std::string& name) const;
};

class Recorder {
 public:
  // Chooses the traced neurons (record.neurons: all | random:K, Floyd's sampling keyed by the
  // seed | range:A-B | list) and keeps this rank's (the config's are checked to exist).
  Recorder(const Config& config, const Network& network, const LocalDomain& domain,
           const CounterRng& rng);

  // A run starting at `first_step` of `total_steps`; `inputs_here`: this rank keeps the inputs.
  void start(std::int64_t first_step, std::int64_t total_steps, bool inputs_here);
  void record_inputs(std::int64_t n, const InputStep& inputs);
  // Task `task`'s new targets, from step n on (docs/output.md /input/NAME); std::logic_error
  // if they are not as many as the task's entry says (TaskTargets::width).
  void record_targets(std::int64_t n, const std::string& task, const std::vector<double>& values) {
    check_target_width(n, task, values.size());
    Record::Targets& targets = record_.targets[task];
    targets.step.push_back(n);
    targets.value.insert(targets.value.end(), values.begin(), values.end());
  }
  // Local neuron k (global id `neuron`) spiked at step n; `neurons`: the state at the end of
  // its sub-steps, for the spike quantities.
  void record_spike(std::int64_t n, std::uint64_t neuron, const NeuronState& neurons,
                    std::uint64_t k) {
    record_.spike_step.push_back(n);
    record_.spike_neuron.push_back(neuron);
    if (!spike_quantities_.empty()) record_spike_values(neurons, k);
  }
  // Every neuron quantity of the traced neurons at the end of step n.
  void record_traces(std::int64_t n, const NeuronState& neurons);
  // Every synapse quantity of the traced neurons' synapses; `row_sources(k)`: the source ids
  // of local neuron k's row.
  template <class RowSources>
  void record_synapses(const SynapseRows& synapses, const LocalDomain& domain,
                       RowSources&& row_sources) {
    if (record_.trace_weight_pre.empty() && !traced_local_.empty()) {
      for (auto k : traced_local_) {
        const auto row = row_sources(k);
        record_.trace_weight_pre.insert(record_.trace_weight_pre.end(), row.begin(), row.end());
        record_.trace_weight_post.insert(record_.trace_weight_post.end(), row.size(),
                                         domain.global_neuron(k));
      }
    }
    for (std::size_t q = 0; q < synapse_quantities_.size(); ++q)
      for (auto k : traced_local_)
        for (auto i = synapses.row_begin[k]; i < synapses.row_begin[k + 1]; ++i)
          record_.synapse_traces[q].push_back(synapse_quantities_[q]->value(synapses, i));
  }

  // What recording costs, from what a Record holds, for the estimates (src/estimates.cpp):
  // a network spike (its step, its neuron and each chosen spike quantity);
  static double bytes_per_spike(const Config& config);
  // an input spike (step, channel, from_pattern);
  static constexpr double kBytesPerInputSpike =
      sizeof(std::int64_t) + sizeof(std::uint32_t) + sizeof(std::uint8_t);
  // rank 0's labels and the tasks' targets over the whole protocol;
  static double label_bytes(const Config& config);
  // the doubles of one sample of a traced neuron whose row has `row_length` synapses: each
  // chosen neuron quantity and, with weight traces, each chosen synapse quantity per synapse.
  static double values_per_traced_neuron(const Config& config, double row_length);
  // Whether the traced neurons' synapses are sampled: traces on, record.weight_traces, and a
  // synapse quantity chosen (then /traces/weight_pre and weight_post hold one source and one
  // target per synapse).
  static bool samples_synapses(const Config& config);
  bool records_synapses() const { return records_synapses_; }  // samples_synapses(its config)

  const Record& record() const { return record_; }

 private:
  // Out of line: the spike loop (Simulator::post_local_spikes) stays as small as without them.
  void record_spike_values(const NeuronState& neurons, std::uint64_t k);
  void check_target_width(std::int64_t n, const std::string& task, std::size_t values) const;

  Record record_;
  std::vector<std::uint64_t> traced_local_;                 // local indices of the traced neurons
  std::vector<const NeuronQuantity*> quantities_;           // as record_.trace_names
  std::vector<const SynapseQuantity*> synapse_quantities_;  // as record_.synapse_trace_names
  std::vector<const NeuronQuantity*> spike_quantities_;     // as record_.spike_value_names
  std::vector<const InputLabel*> labels_;                   // as record_.label_names
  bool records_synapses_ = false;
  std::map<std::string, std::uint64_t> target_widths_;  // per task with targets in the run
};

}  // namespace seqlearn
