// The part of the network a rank owns (docs/design.md 2, "owner computes"): its circuits, their
// neurons, and which of them learn (docs/model.md 11.1). Everything else a rank holds is indexed
// by it: local circuit b = 0 .. n_circuits() - 1, local neuron k = 0 .. n_neurons() - 1, both in
// global order. Pure bookkeeping, built from the network alone: testable without a simulator.
#pragma once

#include <cstdint>
#include <vector>

#include "seqlearn/network.hpp"

namespace seqlearn {

class LocalDomain {
 public:
  LocalDomain(const Network& network, int rank)
      : circuit_begin_(network.circuits_of_rank(rank).first),
        circuit_end_(network.circuits_of_rank(rank).second),
        neuron_begin_(network.first_neuron(circuit_begin_)),
        neuron_end_(network.first_neuron(circuit_end_)) {
    for (std::int64_t c = circuit_begin_; c <= circuit_end_; ++c)
      first_neuron_.push_back(network.first_neuron(c) - neuron_begin_);
    for (std::int64_t b = 0; b < n_circuits(); ++b) {
      const bool trained = network.circuit_trained(circuit_begin_ + b);
      const auto size = static_cast<std::size_t>(circuit_size(b));
      circuit_trained_.push_back(trained);
      circuit_of_neuron_.insert(circuit_of_neuron_.end(), size, static_cast<std::uint32_t>(b));
      neuron_trained_.insert(neuron_trained_.end(), size, trained);
      all_trained_ = all_trained_ && trained;
    }
  }

  // Global ranges: circuits [circuit_begin, circuit_end), neurons [neuron_begin, neuron_end).
  std::int64_t circuit_begin() const { return circuit_begin_; }
  std::int64_t circuit_end() const { return circuit_end_; }
  std::uint64_t neuron_begin() const { return neuron_begin_; }
  std::uint64_t neuron_end() const { return neuron_end_; }

  std::int64_t n_circuits() const { return circuit_end_ - circuit_begin_; }
  std::size_t n_neurons() const { return circuit_of_neuron_.size(); }

  std::int64_t global_circuit(std::int64_t b) const { return circuit_begin_ + b; }
  std::uint64_t global_neuron(std::uint64_t k) const { return neuron_begin_ + k; }
  bool owns_neuron(std::uint64_t g) const { return g >= neuron_begin_ && g < neuron_end_; }

  // Local circuit b's neurons are [first_neuron(b), first_neuron(b + 1)); b may be n_circuits().
  std::uint64_t first_neuron(std::int64_t b) const {
    return first_neuron_[static_cast<std::size_t>(b)];
  }
  int circuit_size(std::int64_t b) const {
    return static_cast<int>(first_neuron(b + 1) - first_neuron(b));
  }
  std::uint32_t circuit_of_neuron(std::uint64_t k) const { return circuit_of_neuron_[k]; }

  // docs/model.md 11.1: per local circuit and per local neuron (its circuit's), 1 if it learns.
  const std::vector<std::uint8_t>& circuit_trained() const { return circuit_trained_; }
  bool neuron_trained(std::uint64_t k) const { return neuron_trained_[k] != 0; }
  bool all_trained() const { return all_trained_; }

 private:
  std::int64_t circuit_begin_ = 0, circuit_end_ = 0;
  std::uint64_t neuron_begin_ = 0, neuron_end_ = 0;
  std::vector<std::uint64_t> first_neuron_;       // per local circuit, + 1: local neuron index
  std::vector<std::uint32_t> circuit_of_neuron_;  // per local neuron: its local circuit
  std::vector<std::uint8_t> circuit_trained_;     // per local circuit
  std::vector<std::uint8_t> neuron_trained_;      // per local neuron
  bool all_trained_ = true;                       // every local circuit learns
};

}  // namespace seqlearn
