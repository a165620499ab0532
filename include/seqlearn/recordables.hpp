// Recorded quantities (cf. NEST's RecordablesMap, arbor's samplers), sampled every
// record.dt_rec steps (of the phases record.trace_phases traces) at the end of the step and
// written to /traces/NAME (docs/output.md).
// Of a neuron, for the traced neurons (record.neurons), [samples][traced neurons]:
//   u        the membrane potential u_k (M2)
//   p        the rate fraction p_k (M3)
//   readout  the readout state x_k (docs/model.md 8)
// Of a synapse, for every synapse onto a traced neuron (record.weight_traces), [samples][m]:
//   weight   the log-weight w_kj (M2, M9)
// Of a neuron at its spikes: a neuron quantity read at each spike of every neuron, written to
// /spikes/NAME [spikes] beside /spikes/step and /spikes/neuron (none built in).
// Of the input at each step, on rank 0 (every rank has the same input), [steps] or
// [steps][width], int32:
//   pattern_id   the pattern or label of each input stream (2 streams)
//   sequence_id  the pattern task's sequence
// record.quantities chooses among the neuron, synapse and spike quantities; the input's labels
// are always recorded (every analysis reads them, at 12 bytes a step).
// Adding one: docs/extending.md. The output, the size estimates, --help and the Python reader
// follow from the registries.
#pragma once

#include <cstdint>
#include <string>

#include "seqlearn/input_task.hpp"
#include "seqlearn/registry.hpp"
#include "seqlearn/state.hpp"

namespace seqlearn {

struct NeuronQuantity {
  std::string unit;  // as in /traces/NAME's `units` attribute ("1" for none)
  std::string help;  // one line for docs and --help
  // The value of local neuron k at the end of the step. Called from the serial part of the
  // step, which must not be slowed down: keep it a read of the state.
  double (*value)(const NeuronState& neurons, std::uint64_t k);  // a capture-free lambda
};

// Every neuron quantity, the built-in ones first; register yours with
//   const bool registered = neuron_quantities().add("name", {"unit", "help", value});
Registry<NeuronQuantity>& neuron_quantities();

struct SynapseQuantity {
  std::string unit;  // as in /traces/NAME's `units` attribute ("1" for none)
  std::string help;  // one line for docs and --help
  // The value of the rank's synapse i (an index into the arrays of SynapseRows) at the end of
  // the step; a read of the state, as a neuron quantity's.
  double (*value)(const SynapseRows& synapses, std::uint64_t i);  // a capture-free lambda
};

// Every synapse quantity, the built-in one first; register yours with
//   const bool registered = synapse_quantities().add("name", {"unit", "help", value});
Registry<SynapseQuantity>& synapse_quantities();

// Neuron quantities sampled at every spike instead of every record.dt_rec steps, at the end of
// the spike's step (after M2-M5: u_k is the potential the neuron spiked from). Register with
//   const bool registered = spike_quantities().add("name", {"unit", "help", value});
Registry<NeuronQuantity>& spike_quantities();

struct InputLabel {
  std::string help;         // one line for docs and --help
  std::uint64_t width = 1;  // values per step: /input/NAME is [steps] for 1, else [steps][width]
  // Writes the label's `width` values at a step into `row`; -1 stands for "none" by convention.
  void (*value)(const InputStep& step, std::int32_t* row);  // a capture-free lambda
};

// Every label of the input, the built-in ones first; register yours with
//   const bool registered = input_labels().add("name", {"help", width, value});
// A plug-in task that labels its steps sets InputStep's fields (or has targets: input_task.hpp).
Registry<InputLabel>& input_labels();

// Each recorded quantity is one dataset: a name must not be taken twice in /traces (neuron and
// synapse quantities together) or /spikes, nor by a dataset that is not a quantity (/traces:
// step, neuron, weight_pre, weight_post; /spikes: step, neuron). Throws std::logic_error naming
// the clash. A label's name must be a dataset name; its clashes in /input are the tasks'
// (check_target_names, input_task.hpp).
void check_quantity_names(const Registry<NeuronQuantity>& neuron = neuron_quantities(),
                          const Registry<SynapseQuantity>& synapse = synapse_quantities(),
                          const Registry<NeuronQuantity>& at_spikes = spike_quantities(),
                          const Registry<InputLabel>& labels = input_labels());

}  // namespace seqlearn
