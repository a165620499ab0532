// Plasticity rules (docs/model.md 4.6): what a neuron's row of synapses does when the neuron
// spikes, as one class each, found by its name in plasticity.schedule. The built-in rules:
//   variance_tracking  M7-M11: per-synapse rates from the running mean S and second moment Q
//   inverse_time       M7' : one rate eta / N_train for all synapses, M8-M9
//   constant           M7'': one rate eta, M8-M9
// Adding one: docs/extending.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "seqlearn/config.hpp"
#include "seqlearn/registry.hpp"

namespace seqlearn {

// The row of a neuron that spiked at this step, its learning synapses only (the input
// synapses are left out when plasticity.train_inputs is off).
struct RowUpdate {
  double* weight;                           // w_kj, log-weights (M2, M9)
  double* variance_tracking_mean;           // S_kj (M10): per-synapse state, initially 0
  double* variance_tracking_second_moment;  // Q_kj (M11): per-synapse state, initially 1
  const double* epsp;                       // Y_j(n) (M1), by the rank's local source index
  const std::uint32_t* source;              // synapse i listens to local source source[i]
  std::size_t length;                       // synapses in the row
  double eta;                               // plasticity.learning_rate
  std::uint64_t learning_steps;  // N_train: steps with learning so far, this one included
};

class PlasticityRule {
 public:
  virtual ~PlasticityRule() = default;
  // Updates the row. Called from several threads at once, for different rows: it must not
  // write anything but the row. Results must not depend on the thread or the rank.
  virtual void update_row(const RowUpdate& row) const = 0;
};

struct RuleEntry {
  std::string help;  // one line for --help and docs: what it does, its equations
  std::function<std::unique_ptr<PlasticityRule>(const Config&)> make;
};

// Every rule, the built-in ones first. Register yours with
//   const bool registered = plasticity_rules().add("name", {"help", make});
Registry<RuleEntry>& plasticity_rules();

// The rule plasticity.schedule names (the config was checked against the registry).
std::unique_ptr<PlasticityRule> make_rule(const std::string& name, const Config& config);

}  // namespace seqlearn
