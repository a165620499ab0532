#include "seqlearn/recordables.hpp"

namespace seqlearn {

Registry<NeuronQuantity>& neuron_quantities() {
  static Registry<NeuronQuantity> quantities = [] {
    Registry<NeuronQuantity> built_in;
    built_in.add("u", {"1", "membrane potential u_k (M2)",
                       [](const NeuronState& n, std::uint64_t k) { return n.potential[k]; }});
    built_in.add("p", {"1", "rate fraction p_k (M3)",
                       [](const NeuronState& n, std::uint64_t k) { return n.rate_fraction[k]; }});
    built_in.add("readout", {"1", "readout state x_k (docs/model.md 8)",
                             [](const NeuronState& n, std::uint64_t k) { return n.readout[k]; }});
    return built_in;
  }();
  return quantities;
}

}  // namespace seqlearn
