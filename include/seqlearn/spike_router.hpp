// Where spikes go on one rank (docs/design.md 2-4). A rank owns some circuits (local_domain.hpp:
// ascending global ids, local circuit b the b-th of them); their neurons listen to every input
// channel and to the neurons of their source circuits. The router knows
//   - the rank's *sources*: the input channels, then the neurons of every *needed* circuit
//     (a source circuit of a local circuit, or a local circuit itself), each under a local
//     source index; the EPSP and STP state of sources lives at these indices (SourceState);
//   - the *row layout*: each local neuron's row of synapses is [inputs][one block per source
//     circuit, ascending]; the neurons of one circuit share the layout;
//   - the *targets* of each needed circuit: which local circuits listen to it, and where in
//     their rows;
//   - the *arrival ring*: spikes on their way to the EPSP traces, `delay` steps long.
// With network.p_conn < 1 (docs/model.md 11.1) each neuron keeps only some of its circuit's
// recurrent synapses, so rows are per neuron: [inputs][kept sources, ascending], and each
// source neuron has its own list of (local neuron, row position) targets. With p_conn = 1 the
// neurons of a circuit share one row and nothing per neuron is stored.
// It holds no model state and can be tested without running a simulation.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "seqlearn/network.hpp"

namespace seqlearn {

// A spike on its way to a source's EPSP traces; it reaches them `delay` - 1 steps after the
// step it was emitted in (docs/model.md 4).
struct Arrival {
  std::uint32_t source = 0;          // local source index
  std::uint32_t source_circuit = 0;  // needed-circuit index, or SpikeRouter::kInput
  std::uint32_t offset = 0;          // position in its circuit (the channel for an input)
  double amplitude = 0;              // R*u at emission (M6)
};

class SpikeRouter {
 public:
  // A contiguous run of one row: `count` synapses from consecutive local sources.
  struct Block {
    std::uint32_t first_source;
    std::uint32_t count;
    std::uint64_t row_offset;
  };
  // The neurons of local circuit `circuit` listen to a source circuit at `row_offset`.
  struct Target {
    std::uint32_t circuit;
    std::uint64_t row_offset;
  };
  // Per-neuron rows only: local neuron `neuron` has the synapse at `position` of its row.
  struct NeuronTarget {
    std::uint32_t neuron;
    std::uint32_t position;
  };
  static constexpr std::uint32_t kInput = std::numeric_limits<std::uint32_t>::max();

  // `local_circuits`: the rank's circuits, ascending global ids (LocalDomain::circuits).
  SpikeRouter(const Network& network, std::span<const std::int64_t> local_circuits,
              int delay_steps);

  // --- Sources. A source id is global: input channels 0..n_inputs-1, then n_inputs + neuron.
  std::uint32_t n_sources() const { return n_sources_; }
  std::uint32_t n_inputs() const { return n_inputs_; }
  const std::vector<std::uint32_t>& needed_circuits() const { return needed_circuits_; }
  std::uint64_t source_id(std::uint32_t local_source) const;
  // Where a spike of `source_id` goes on this rank (amplitude 0), or nothing if no local
  // synapse listens to it. The one mapping from global ids to local sources.
  std::optional<Arrival> route(std::uint64_t source_id) const;
  // The same for the neuron at `position` of `circuit`, without a search (the spike exchange).
  std::optional<Arrival> route_neuron(std::uint64_t circuit, std::uint32_t position) const {
    const std::int32_t i = needed_index_of_circuit_[circuit];
    if (i < 0) return std::nullopt;
    return Arrival{needed_first_source_[static_cast<std::size_t>(i)] + position,
                   static_cast<std::uint32_t>(i), position, 0.0};
  }
  // Calls f(first_source_id, first_local_source, count) for each run of consecutive source
  // ids among this rank's sources: the inputs, then runs of consecutive needed circuits.
  template <class F>
  void for_each_source_run(F&& f) const;

  // --- Rows of the local circuit `local_circuit` (0 = the first of the rank's circuits).
  std::span<const Block> blocks_of(std::int64_t local_circuit) const;
  std::uint64_t row_length(std::int64_t local_circuit) const {
    return row_length_[static_cast<std::size_t>(local_circuit)];
  }
  // The local source of each synapse of that row, in row order (for gathering Y, e, ê).
  std::span<const std::uint32_t> row_local_sources(std::int64_t local_circuit) const {
    const auto b = static_cast<std::size_t>(local_circuit);
    return {row_local_sources_.data() + row_start_[b],
            row_local_sources_.data() + row_start_[b + 1]};
  }
  // The global source ids of that row, in row order.
  std::vector<std::uint64_t> row_sources(std::int64_t local_circuit) const;

  // --- Rows of local neurons (the circuit's row unless per_neuron_rows()).
  bool per_neuron_rows() const { return !neuron_row_start_.empty(); }
  std::span<const std::uint32_t> neuron_row_local_sources(std::uint64_t local_neuron,
                                                          std::int64_t local_circuit) const {
    if (!per_neuron_rows()) return row_local_sources(local_circuit);
    return {row_local_sources_.data() + neuron_row_start_[local_neuron],
            row_local_sources_.data() + neuron_row_start_[local_neuron + 1]};
  }
  std::vector<std::uint64_t> neuron_row_sources(std::uint64_t local_neuron,
                                                std::int64_t local_circuit) const;
  // Synapses onto the neurons of local circuit `local_circuit`.
  std::uint64_t circuit_synapses(std::int64_t local_circuit) const;
  // Per-neuron rows only: where a spike of local source `local_source` (a neuron) goes, by
  // ascending local neuron.
  std::span<const NeuronTarget> neuron_targets(std::uint32_t local_source) const {
    return {neuron_targets_.data() + neuron_target_begin_[local_source],
            neuron_targets_.data() + neuron_target_begin_[local_source + 1]};
  }

  // --- Targets of needed circuit `needed_index`, by ascending local circuit.
  std::span<const Target> targets_of(std::uint32_t needed_index) const;
  // Those in local circuits [circuit_first, circuit_last) (a thread's share).
  std::span<const Target> targets_in(std::uint32_t needed_index, std::int64_t circuit_first,
                                     std::int64_t circuit_last) const;
  std::uint64_t target_neurons(std::uint32_t needed_index) const {
    return target_neurons_[needed_index];
  }

  // --- The arrival ring.
  int delay_steps() const { return static_cast<int>(arrivals_.size()); }
  std::vector<Arrival>& arrivals_at(std::int64_t step) {
    return arrivals_[static_cast<std::size_t>(step % delay_steps())];
  }
  // A spike emitted at `step` arrives at step + delay - 1.
  void queue(std::int64_t step, const Arrival& arrival) {
    arrivals_at(step + delay_steps() - 1).push_back(arrival);
  }
  void clear_arrivals() {
    for (auto& slot : arrivals_) slot.clear();
  }

 private:
  void build_neuron_rows(std::size_t n_local_circuits);

  const Network& network_;
  std::vector<std::int64_t> local_circuits_;         // global ids, ascending
  std::vector<std::uint64_t> circuit_first_neuron_;  // per local circuit: its first local neuron
  std::uint32_t n_inputs_;
  std::uint32_t n_sources_ = 0;
  std::vector<std::uint32_t> needed_circuits_;         // ascending
  std::vector<std::int32_t> needed_index_of_circuit_;  // per global circuit, -1 if not needed
  std::vector<std::uint32_t> needed_first_source_;     // per needed circuit
  std::vector<std::uint64_t> block_begin_;             // CSR per local circuit into blocks_
  std::vector<Block> blocks_;
  std::vector<std::uint64_t> row_length_;         // per local circuit
  std::vector<std::uint64_t> row_start_;          // CSR per local circuit into row_local_sources_
  std::vector<std::uint32_t> row_local_sources_;  // per row position of each local circuit
  // Per-neuron rows (p_conn < 1): rows in row_local_sources_ per local neuron instead, and
  // the targets of each local source.
  std::vector<std::uint64_t> neuron_row_start_;     // CSR per local neuron, empty if shared
  std::vector<std::uint64_t> neuron_target_begin_;  // CSR per local source into neuron_targets_
  std::vector<NeuronTarget> neuron_targets_;
  std::vector<std::uint64_t> target_begin_;  // CSR per needed circuit into targets_
  std::vector<Target> targets_;
  std::vector<std::uint64_t> target_neurons_;   // per needed circuit: local neurons it reaches
  std::vector<std::vector<Arrival>> arrivals_;  // ring of `delay` steps
};

template <class F>
void SpikeRouter::for_each_source_run(F&& f) const {
  if (n_inputs_ > 0) f(std::uint64_t{0}, std::uint32_t{0}, std::uint64_t{n_inputs_});
  for (std::size_t i = 0; i < needed_circuits_.size();) {
    std::size_t end = i + 1;  // needed circuits are ascending: extend while consecutive
    while (end < needed_circuits_.size() && needed_circuits_[end] == needed_circuits_[end - 1] + 1)
      ++end;
    const std::uint64_t first_neuron = network_.first_neuron(needed_circuits_[i]);
    const std::uint64_t count = network_.first_neuron(needed_circuits_[end - 1] + 1) - first_neuron;
    f(n_inputs_ + first_neuron, needed_first_source_[i], count);
    i = end;
  }
}

}  // namespace seqlearn
