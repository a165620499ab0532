// Recorded quantities of a neuron (cf. NEST's RecordablesMap, arbor's samplers): each is
// sampled every record.dt_rec steps (of the phases record.trace_phases traces) for the traced
// neurons (record.neurons) and written to /traces/NAME, [samples][traced neurons]
// (docs/output.md). The built-in ones, at the end of the step:
//   u        the membrane potential u_k (M2)
//   p        the rate fraction p_k (M3)
//   readout  the readout state x_k (docs/model.md 8)
// Adding one: docs/extending.md. The output, the size estimates and the Python reader follow
// from the registry.
#pragma once

#include <cstdint>
#include <string>

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

}  // namespace seqlearn
