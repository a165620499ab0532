#include "seqlearn/recordables.hpp"

#include <algorithm>
#include <stdexcept>

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

Registry<SynapseQuantity>& synapse_quantities() {
  static Registry<SynapseQuantity> quantities = [] {
    Registry<SynapseQuantity> built_in;
    built_in.add("weight", {"1", "log-weight w_kj (M2, M9)",
                            [](const SynapseRows& s, std::uint64_t i) { return s.weight[i]; }});
    return built_in;
  }();
  return quantities;
}

Registry<NeuronQuantity>& spike_quantities() {
  static Registry<NeuronQuantity> quantities;  // none built in
  return quantities;
}

Registry<InputLabel>& input_labels() {
  static Registry<InputLabel> labels = [] {
    Registry<InputLabel> built_in;
    built_in.add("pattern_id", {"pattern id, xor half or file label of streams 1 and 2", 2,
                                [](const InputStep& in, std::int32_t* row) {
                                  row[0] = in.pattern_id;
                                  row[1] = in.pattern_id_2;
                                }});
    built_in.add("sequence_id",
                 {"the pattern task's sequence", 1,
                  [](const InputStep& in, std::int32_t* row) { row[0] = in.sequence_id; }});
    return built_in;
  }();
  return labels;
}

void check_quantity_names(const Registry<NeuronQuantity>& neuron,
                          const Registry<SynapseQuantity>& synapse,
                          const Registry<NeuronQuantity>& at_spikes,
                          const Registry<InputLabel>& labels) {
  const auto refuse = [](const std::string& kind, const std::string& name, const std::string& why) {
    throw std::logic_error(kind + " '" + name + "': " + why + " (docs/extending.md)");
  };
  for (const auto& [name, label] : labels.entries()) {
    if (!is_dataset_name(name) || name == "spikes")
      refuse("input label", name, "not a dataset name in /input");
    if (label.width == 0) refuse("input label", name, "width 0");
  }
  for (const auto& name : at_spikes.names()) {
    if (!is_dataset_name(name)) refuse("spike quantity", name, "not a dataset name");
    if (name == "step" || name == "neuron")
      refuse("spike quantity", name, "the name is taken in /spikes");
  }
  std::vector<std::string> taken = {"step", "neuron", "weight_pre", "weight_post"};
  for (const auto& names : {neuron.names(), synapse.names()})
    for (const auto& name : names) {
      if (!is_dataset_name(name)) refuse("recorded quantity", name, "not a dataset name");
      if (std::find(taken.begin(), taken.end(), name) != taken.end())
        refuse("recorded quantity", name, "the name is taken in /traces");
      taken.push_back(name);
    }
}

}  // namespace seqlearn
