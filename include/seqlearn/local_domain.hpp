// The part of the network a rank owns (docs/design.md 2, "owner computes"): its circuits, their
// neurons, and which of them learn (docs/model.md 11.1). Everything else a rank holds is indexed
// by it: local circuit b = 0 .. n_circuits() - 1, local neuron k = 0 .. n_neurons() - 1, both in
// ascending global order. The circuits are runs of consecutive ids (one for a strip, one per
// grid row for a tile: partition.hpp), so global and local order agree but global ids have
// gaps. Pure bookkeeping, built from the network alone: testable without a simulator.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/network.hpp"

namespace seqlearn {

class LocalDomain {
 public:
  // One run of consecutive circuits, with where it starts locally and globally.
  struct Run {
    std::int64_t first_circuit, end_circuit;  // global circuit ids [first, end)
    std::int64_t local_circuit;               // local index of first_circuit
    std::uint64_t first_neuron, end_neuron;   // global neuron ids [first, end)
    std::uint64_t local_neuron;               // local index of first_neuron
    std::uint64_t n_neurons() const { return end_neuron - first_neuron; }
  };
  static constexpr std::uint64_t kNotLocal = std::numeric_limits<std::uint64_t>::max();

  LocalDomain(const Network& network, int rank) {
    for (const CircuitRun& r : network.circuits_of_rank(rank)) {
      runs_.push_back({r.first, r.end, static_cast<std::int64_t>(circuits_.size()),
                       network.first_neuron(r.first), network.first_neuron(r.end),
                       first_neuron_.back()});
      for (std::int64_t c = r.first; c < r.end; ++c) {
        const auto size = static_cast<std::size_t>(network.circuit_size(c));
        const bool trained = network.circuit_trained(c);
        const auto b = static_cast<std::uint32_t>(circuits_.size());
        circuits_.push_back(c);
        global_first_neuron_.push_back(network.first_neuron(c));
        first_neuron_.push_back(first_neuron_.back() + size);
        circuit_trained_.push_back(trained);
        circuit_of_neuron_.insert(circuit_of_neuron_.end(), size, b);
        neuron_trained_.insert(neuron_trained_.end(), size, trained);
        all_trained_ = all_trained_ && trained;
      }
    }
  }

  std::int64_t n_circuits() const { return static_cast<std::int64_t>(circuits_.size()); }
  std::size_t n_neurons() const { return circuit_of_neuron_.size(); }
  // The runs of consecutive circuits, ascending (empty if the rank owns none).
  const std::vector<Run>& runs() const { return runs_; }
  // The global ids of the local circuits, ascending.
  const std::vector<std::int64_t>& circuits() const { return circuits_; }

  std::int64_t global_circuit(std::int64_t b) const {
    return circuits_[static_cast<std::size_t>(b)];
  }
  std::uint64_t global_neuron(std::uint64_t k) const {
    const std::uint32_t b = circuit_of_neuron_[k];
    return global_first_neuron_[b] + (k - first_neuron_[b]);
  }
  // The local index of global neuron g, or kNotLocal.
  std::uint64_t local_neuron(std::uint64_t g) const {
    for (const Run& r : runs_)
      if (g >= r.first_neuron && g < r.end_neuron) return r.local_neuron + (g - r.first_neuron);
    return kNotLocal;
  }
  bool owns_neuron(std::uint64_t g) const { return local_neuron(g) != kNotLocal; }

  // Local circuit b's neurons are [first_neuron(b), first_neuron(b + 1)); b may be n_circuits().
  // The array, from local circuit 0 on (kernels::softmax_circuits' bounds).
  std::uint64_t first_neuron(std::int64_t b) const {
    return first_neuron_[static_cast<std::size_t>(b)];
  }
  const std::uint64_t* first_neurons(std::int64_t b) const { return first_neuron_.data() + b; }
  int circuit_size(std::int64_t b) const {
    return static_cast<int>(first_neuron(b + 1) - first_neuron(b));
  }
  std::uint32_t circuit_of_neuron(std::uint64_t k) const { return circuit_of_neuron_[k]; }

  // Calls f(first global neuron, first local neuron, count) for each run of consecutive global
  // ids among the neurons of local circuits [b_first, b_last).
  template <class F>
  void for_each_neuron_run(std::int64_t b_first, std::int64_t b_last, F&& f) const {
    for (const Run& r : runs_) {
      const std::int64_t first = std::max(b_first, r.local_circuit);
      const std::int64_t last =
          std::min(b_last, r.local_circuit + (r.end_circuit - r.first_circuit));
      if (first >= last) continue;
      const std::uint64_t k = first_neuron(first);
      f(global_first_neuron_[static_cast<std::size_t>(first)], k, first_neuron(last) - k);
    }
  }

  // This rank's pieces, one per run, of a sequence in global order with an element per circuit;
  // per neuron (shifted by `shift`: the sources, whose neurons follow the inputs); and the keys
  // that order the runs of all ranks, for pieces of any length (slices_in_key_order).
  Slices circuit_slices(std::uint64_t total) const {
    Slices slices;
    slices.total = total;
    for (const Run& r : runs_) {
      slices.offsets.push_back(static_cast<std::uint64_t>(r.first_circuit));
      slices.counts.push_back(static_cast<std::uint64_t>(r.end_circuit - r.first_circuit));
    }
    return slices;
  }
  Slices neuron_slices(std::uint64_t total, std::uint64_t shift = 0) const {
    Slices slices;
    slices.total = total;
    for (const Run& r : runs_) {
      slices.offsets.push_back(shift + r.first_neuron);
      slices.counts.push_back(r.n_neurons());
    }
    return slices;
  }
  // The sources (input channels 0..n_inputs-1, then n_inputs + neuron id) whose parameters and
  // state this rank writes: its neurons, and the inputs, which precede neuron 0, if `inputs`
  // (rank 0).
  Slices source_slices(std::uint64_t n_inputs, std::uint64_t n_neurons, bool inputs) const {
    Slices slices = neuron_slices(n_inputs + n_neurons, n_inputs);
    if (inputs) {
      slices.offsets.insert(slices.offsets.begin(), 0);
      slices.counts.insert(slices.counts.begin(), n_inputs);
    }
    return slices;
  }
  std::vector<std::uint64_t> run_keys() const {
    std::vector<std::uint64_t> keys;
    for (const Run& r : runs_) keys.push_back(static_cast<std::uint64_t>(r.first_circuit));
    return keys;
  }

  // Per run: how many of `neurons` (global ids of its own, ascending) it holds.
  std::vector<std::uint64_t> count_per_run(const std::vector<std::uint64_t>& neurons) const {
    std::vector<std::uint64_t> counts;
    std::size_t i = 0;
    for (const Run& r : runs_) {
      const std::size_t first = i;
      while (i < neurons.size() && neurons[i] < r.end_neuron) ++i;
      counts.push_back(i - first);
    }
    return counts;
  }
  // Per run: the increments over its neurons of a prefix sum per local neuron (n_neurons() + 1
  // values; SynapseRows::row_begin gives the synapses of each run).
  std::vector<std::uint64_t> sum_per_run(const std::vector<std::uint64_t>& prefix) const {
    std::vector<std::uint64_t> sums;
    for (const Run& r : runs_)
      sums.push_back(prefix[r.local_neuron + r.n_neurons()] - prefix[r.local_neuron]);
    return sums;
  }

  // docs/model.md 11.1: per local circuit and per local neuron (its circuit's), 1 if it learns.
  const std::vector<std::uint8_t>& circuit_trained() const { return circuit_trained_; }
  bool neuron_trained(std::uint64_t k) const { return neuron_trained_[k] != 0; }
  bool all_trained() const { return all_trained_; }

 private:
  std::vector<Run> runs_;
  std::vector<std::int64_t> circuits_;              // per local circuit: its global id
  std::vector<std::uint64_t> global_first_neuron_;  // per local circuit: its first global neuron
  std::vector<std::uint64_t> first_neuron_{0};      // per local circuit, + 1: local neuron index
  std::vector<std::uint32_t> circuit_of_neuron_;    // per local neuron: its local circuit
  std::vector<std::uint8_t> circuit_trained_;       // per local circuit
  std::vector<std::uint8_t> neuron_trained_;        // per local neuron
  bool all_trained_ = true;                         // every local circuit learns
};

// This rank's pieces of a dataset in global order whose runs hold `counts` elements each (one
// per run of `domain`; collective).
inline Slices run_slices(Communicator& comm, const LocalDomain& domain,
                         const std::vector<std::uint64_t>& counts) {
  return slices_in_key_order(comm, domain.run_keys(), counts);
}

}  // namespace seqlearn
