// The network's structure (docs/model.md 1-2) and its partition over ranks (docs/design.md 2, 5).
//
// Everything here is a pure function of the configuration and the seed, so every rank can
// build exactly the part it needs. Per circuit it keeps only a size and a neuron offset
// (a few bytes per circuit); the list of source circuits is kept for km2013 (at most 4096
// circuits) and recomputed on demand for fixed_indegree.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/partition.hpp"
#include "seqlearn/rng.hpp"

namespace seqlearn {

// Short-term plasticity parameters of one source (docs/model.md 2), times in seconds.
struct StpParameters {
  double U = 1.0;
  double D_s = 0.0;
  double F_s = 0.0;
};

// K_c of circuit c (docs/model.md 1): drawn from the seed alone, so that every rank, and the
// readers of input files before any network is built, know the network's size.
int circuit_size_of(const Config& config, std::int64_t circuit);
// The number of neurons, sum of K_c (without building the network).
std::uint64_t count_neurons(const Config& config);

class Network {
 public:
  // Partitioned over `n_ranks` as run.partition says (strips for auto: see set_partition).
  Network(const Config& config, int n_ranks);

  // The memory km2013's table of all ordered circuit pairs takes while the network is built
  // (on every rank), for the estimates.
  static double km2013_table_bytes(std::int64_t circuits);

  std::int64_t n_circuits() const { return static_cast<std::int64_t>(circuit_size_.size()); }
  std::uint64_t n_neurons() const { return first_neuron_.back(); }
  int n_inputs() const { return n_inputs_; }
  int rows() const { return rows_; }
  int cols() const { return cols_; }

  int circuit_size(std::int64_t circuit) const {
    return circuit_size_[static_cast<std::size_t>(circuit)];
  }
  // The first neurons of circuits first..last (last + 1 values: the last is where circuit
  // `last` - 1 ends).
  const std::uint64_t* first_neurons(std::int64_t first) const {
    return first_neuron_.data() + first;
  }
  std::uint64_t first_neuron(std::int64_t circuit) const {
    return first_neuron_[static_cast<std::size_t>(circuit)];
  }
  std::int64_t circuit_of(std::uint64_t neuron) const;

  // Source circuits A of circuit B (A -> B connects all-to-all), ascending, never B itself.
  std::vector<std::uint32_t> sources_of(std::int64_t circuit) const;

  // docs/model.md 11.1: whether the synapse from neuron `pre` onto neuron `post` (of connected
  // circuits) is kept: U(0,1) keyed by (post, pre) below network.p_conn. Always true for
  // p_conn = 1 (no draw), and for every input synapse (never pruned, not asked here).
  bool pruned() const { return p_conn_ < 1.0; }
  bool synapse_kept(std::uint64_t post, std::uint64_t pre) const {
    return !pruned() || rng_.uniform(Purpose::synapse_kept, post, pre) < p_conn_;
  }
  // docs/model.md 11.1: whether circuit `circuit` learns: U(0,1) keyed by the circuit below
  // network.train_fraction (always for 1, never for 0).
  bool circuit_trained(std::int64_t circuit) const {
    return train_fraction_ >= 1.0 ||
           rng_.uniform(Purpose::train_circuit, static_cast<std::uint64_t>(circuit), 0) <
               train_fraction_;
  }

  // STP parameters of source `source` (inputs 0..n_inputs-1, then neuron g as n_inputs+g).
  StpParameters stp_parameters(std::uint64_t source) const;

  // The neurons a rank owning `owned` listens to: those of its circuits and of their source
  // circuits (the sources whose traces it advances every step: the halo, docs/scaling.md).
  std::uint64_t needed_neurons(const std::vector<CircuitRun>& owned) const;

  // The circuits owned by `rank` (partition.hpp), balanced by estimated synapses.
  std::vector<CircuitRun> circuits_of_rank(int rank) const { return partition_.runs_of(rank); }
  const Partition& partition() const { return partition_; }
  // The partition of this grid's circuits in `shape` over the same ranks, and the one to use
  // (run.partition = auto chooses at set-up by the halo each would give: Simulator).
  Partition make_partition(PartitionShape shape) const;
  void set_partition(Partition partition) { partition_ = std::move(partition); }

 private:
  void build_km2013(const Config& config);
  std::vector<std::uint32_t> draw_fixed_indegree(std::int64_t circuit) const;
  void estimate_work(const Config& config);

  CounterRng rng_;
  int rows_;
  int cols_;
  int n_inputs_;
  Connectivity connectivity_;
  Boundary boundary_;
  double lambda_;
  int wta_indegree_;
  double dt_s_;
  double stp_U_, stp_D_s_, stp_F_s_, stp_cv_;
  double p_conn_, train_fraction_;
  std::vector<std::uint16_t> circuit_size_;
  std::vector<std::uint64_t> first_neuron_;  // prefix sum of circuit_size_, size C + 1
  // km2013 only: CSR of source circuits per target circuit.
  std::vector<std::uint64_t> km_source_begin_;
  std::vector<std::uint32_t> km_sources_;
  std::vector<double> circuit_work_;  // estimated synapses (+ the neurons) per circuit
  int n_ranks_;
  Partition partition_;
};

}  // namespace seqlearn
