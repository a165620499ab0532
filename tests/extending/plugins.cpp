// docs/extending.md's worked examples, compiled into seqlearn_extended (the program with them):
// a plasticity rule and a recorded neuron quantity defined outside src/ and registered through
// the public registries. tests/extending/extending.sh runs them through the engine.
#include <cmath>
#include <memory>

#include "seqlearn/kernels.hpp"
#include "seqlearn/plasticity.hpp"
#include "seqlearn/recordables.hpp"

namespace example {

// A rule: M8-M9 with one learning rate for the whole row that falls as 1/sqrt(N_train), between
// constant (M7'') and inverse_time (M7').
class InverseSqrtTime : public seqlearn::PlasticityRule {
 public:
  void update_row(const seqlearn::RowUpdate& row) const override {
    const double rate = row.eta / std::sqrt(static_cast<double>(row.learning_steps));
    seqlearn::kernels::weight_step_row(row.weight, row.epsp, row.source, row.length, rate);
  }
};

// One line registers it: plasticity.schedule = inverse_sqrt_time.
const bool rule_registered = seqlearn::plasticity_rules().add(
    "inverse_sqrt_time",
    {"eta / sqrt(N_train), M8-M9 (docs/extending.md)",
     [](const seqlearn::Config&) { return std::make_unique<InverseSqrtTime>(); }});

// A recorded quantity: the event-driven part of u_k (M2 without the bias), sampled with the
// other traces into /traces/input_drive.
const bool quantity_registered = seqlearn::neuron_quantities().add(
    "input_drive", {"1", "sum_j w_kj (e_j - ê_j): u_k less its bias (M2)",
                    [](const seqlearn::NeuronState& n, std::uint64_t k) {
                      return n.weighted_decay[k] - n.weighted_rise[k];
                    }});

}  // namespace example
