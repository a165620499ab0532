#include "seqlearn/spike_router.hpp"

#include <algorithm>

#include "seqlearn/config.hpp"

namespace seqlearn {

SpikeRouter::SpikeRouter(const Network& network, std::span<const std::int64_t> local_circuits,
                         int delay_steps)
    : network_(network),
      local_circuits_(local_circuits.begin(), local_circuits.end()),
      n_inputs_(static_cast<std::uint32_t>(network.n_inputs())),
      arrivals_(static_cast<std::size_t>(delay_steps)) {
  const std::size_t n_local_circuits = local_circuits_.size();
  circuit_first_neuron_.assign(1, 0);
  for (const std::int64_t c : local_circuits_)
    circuit_first_neuron_.push_back(circuit_first_neuron_.back() +
                                    static_cast<std::uint64_t>(network.circuit_size(c)));

  // Source circuits of every local circuit; their union is the set of needed circuits.
  // The local circuits are included too: their owner keeps (and checkpoints) their state as
  // sources, whether or not a local circuit listens to them.
  std::vector<std::vector<std::uint32_t>> sources(n_local_circuits);
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    const std::int64_t circuit = local_circuits_[b];
    sources[b] = network.sources_of(circuit);
    needed_circuits_.insert(needed_circuits_.end(), sources[b].begin(), sources[b].end());
    needed_circuits_.push_back(static_cast<std::uint32_t>(circuit));
  }
  std::sort(needed_circuits_.begin(), needed_circuits_.end());
  needed_circuits_.erase(std::unique(needed_circuits_.begin(), needed_circuits_.end()),
                         needed_circuits_.end());
  needed_index_of_circuit_.assign(static_cast<std::size_t>(network.n_circuits()), -1);
  std::uint64_t n_sources = n_inputs_;
  for (std::size_t i = 0; i < needed_circuits_.size(); ++i) {
    needed_index_of_circuit_[needed_circuits_[i]] = static_cast<std::int32_t>(i);
    needed_first_source_.push_back(static_cast<std::uint32_t>(n_sources));
    n_sources += static_cast<std::uint64_t>(network.circuit_size(needed_circuits_[i]));
  }
  if (n_sources > std::numeric_limits<std::uint32_t>::max())
    throw ConfigError("network: more than 2^32 sources onto one rank; use more ranks");
  n_sources_ = static_cast<std::uint32_t>(n_sources);

  // Rows: [inputs][source circuit blocks in ascending circuit order].
  block_begin_.assign(n_local_circuits + 1, 0);
  row_length_.assign(n_local_circuits, 0);
  std::vector<std::vector<Target>> targets_of(needed_circuits_.size());
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    std::uint64_t offset = 0;
    if (n_inputs_ > 0) blocks_.push_back({0, n_inputs_, 0});
    offset += n_inputs_;
    for (auto a : sources[b]) {
      const auto i = static_cast<std::size_t>(needed_index_of_circuit_[a]);
      const auto size = static_cast<std::uint32_t>(network.circuit_size(a));
      blocks_.push_back({needed_first_source_[i], size, offset});
      targets_of[i].push_back({static_cast<std::uint32_t>(b), offset});
      offset += size;
    }
    block_begin_[b + 1] = blocks_.size();
    row_length_[b] = offset;
  }
  row_start_.assign(n_local_circuits + 1, 0);
  if (network.pruned()) {
    build_neuron_rows(n_local_circuits);
  } else {
    for (std::size_t b = 0; b < n_local_circuits; ++b) {
      for (const Block& block : blocks_of(static_cast<std::int64_t>(b)))
        for (std::uint32_t o = 0; o < block.count; ++o)
          row_local_sources_.push_back(block.first_source + o);
      row_start_[b + 1] = row_local_sources_.size();
    }
  }
  target_begin_.assign(needed_circuits_.size() + 1, 0);
  for (std::size_t i = 0; i < needed_circuits_.size(); ++i) {
    targets_.insert(targets_.end(), targets_of[i].begin(), targets_of[i].end());
    target_begin_[i + 1] = targets_.size();
    std::uint64_t reached = 0;
    for (const Target& t : targets_of[i])
      reached += static_cast<std::uint64_t>(network.circuit_size(local_circuits_[t.circuit]));
    target_neurons_.push_back(reached);
  }
}

// docs/model.md 11.1: each local neuron keeps the recurrent synapses of its circuit's row for
// which Network::synapse_kept (keyed by global ids) says so; inputs are always kept. Rows are
// [inputs][kept sources, ascending]; row_start_ stays all zero (no shared rows).
void SpikeRouter::build_neuron_rows(std::size_t n_local_circuits) {
  const std::uint64_t n_local_neurons = circuit_first_neuron_.back();
  if (n_local_neurons > std::numeric_limits<std::uint32_t>::max())
    throw ConfigError("network: more than 2^32 neurons on one rank; use more ranks");
  neuron_row_start_.assign(n_local_neurons + 1, 0);
  std::vector<std::uint64_t> target_count(n_sources_ + 1, 0);
  std::uint64_t k = 0;
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    const int size = network_.circuit_size(local_circuits_[b]);
    const std::uint64_t first_post = network_.first_neuron(local_circuits_[b]);
    for (int i = 0; i < size; ++i, ++k) {
      for (const Block& block : blocks_of(static_cast<std::int64_t>(b))) {
        const bool input = block.first_source < n_inputs_;  // a block is inputs or one circuit
        const std::uint64_t first_pre = input ? 0 : source_id(block.first_source) - n_inputs_;
        for (std::uint32_t o = 0; o < block.count; ++o) {
          const std::uint32_t j = block.first_source + o;
          if (!input &&
              !network_.synapse_kept(first_post + static_cast<std::uint64_t>(i), first_pre + o))
            continue;
          if (!input) ++target_count[j + 1];
          row_local_sources_.push_back(j);
        }
      }
      neuron_row_start_[k + 1] = row_local_sources_.size();
      if (neuron_row_start_[k + 1] - neuron_row_start_[k] >
          std::numeric_limits<std::uint32_t>::max())
        throw ConfigError("network: a neuron with more than 2^32 synapses is not supported");
    }
  }
  neuron_target_begin_.assign(n_sources_ + 1, 0);
  for (std::uint32_t j = 0; j < n_sources_; ++j)
    neuron_target_begin_[j + 1] = neuron_target_begin_[j] + target_count[j + 1];
  neuron_targets_.resize(neuron_target_begin_.back());
  std::vector<std::uint64_t> next(neuron_target_begin_.begin(), neuron_target_begin_.end() - 1);
  for (std::uint64_t n = 0; n < n_local_neurons; ++n) {  // ascending neurons per source
    for (std::uint64_t p = neuron_row_start_[n]; p < neuron_row_start_[n + 1]; ++p) {
      const std::uint32_t j = row_local_sources_[p];
      if (j < n_inputs_) continue;
      neuron_targets_[next[j]++] = {static_cast<std::uint32_t>(n),
                                    static_cast<std::uint32_t>(p - neuron_row_start_[n])};
    }
  }
}

std::vector<std::uint64_t> SpikeRouter::neuron_row_sources(std::uint64_t local_neuron,
                                                           std::int64_t local_circuit) const {
  std::vector<std::uint64_t> row;
  for (const std::uint32_t local_source : neuron_row_local_sources(local_neuron, local_circuit))
    row.push_back(source_id(local_source));
  return row;
}

std::uint64_t SpikeRouter::circuit_synapses(std::int64_t local_circuit) const {
  const auto b = static_cast<std::size_t>(local_circuit);
  const auto size = static_cast<std::uint64_t>(network_.circuit_size(local_circuits_[b]));
  if (!per_neuron_rows()) return row_length(local_circuit) * size;
  return neuron_row_start_[circuit_first_neuron_[b] + size] -
         neuron_row_start_[circuit_first_neuron_[b]];
}

std::uint64_t SpikeRouter::source_id(std::uint32_t local_source) const {
  if (local_source < n_inputs_) return local_source;
  const auto it =
      std::upper_bound(needed_first_source_.begin(), needed_first_source_.end(), local_source) - 1;
  const auto circuit =
      needed_circuits_[static_cast<std::size_t>(it - needed_first_source_.begin())];
  return n_inputs_ + network_.first_neuron(circuit) + (local_source - *it);
}

std::optional<Arrival> SpikeRouter::route(std::uint64_t source_id) const {
  if (source_id < n_inputs_) {
    const auto channel = static_cast<std::uint32_t>(source_id);
    return Arrival{channel, kInput, channel, 0.0};
  }
  const std::uint64_t neuron = source_id - n_inputs_;
  const std::int64_t circuit = network_.circuit_of(neuron);
  return route_neuron(static_cast<std::uint64_t>(circuit),
                      static_cast<std::uint32_t>(neuron - network_.first_neuron(circuit)));
}

std::span<const SpikeRouter::Block> SpikeRouter::blocks_of(std::int64_t local_circuit) const {
  const auto b = static_cast<std::size_t>(local_circuit);
  return {blocks_.data() + block_begin_[b], blocks_.data() + block_begin_[b + 1]};
}

std::vector<std::uint64_t> SpikeRouter::row_sources(std::int64_t local_circuit) const {
  std::vector<std::uint64_t> row;
  row.reserve(row_length(local_circuit));
  for (const std::uint32_t local_source : row_local_sources(local_circuit))
    row.push_back(source_id(local_source));
  return row;
}

std::span<const SpikeRouter::Target> SpikeRouter::targets_of(std::uint32_t needed_index) const {
  return {targets_.data() + target_begin_[needed_index],
          targets_.data() + target_begin_[needed_index + 1]};
}

std::span<const SpikeRouter::Target> SpikeRouter::targets_in(std::uint32_t needed_index,
                                                             std::int64_t circuit_first,
                                                             std::int64_t circuit_last) const {
  const auto targets = targets_of(needed_index);
  // One thread owns every local circuit (the usual case with a rank per core): no search.
  if (circuit_first == 0 && circuit_last >= static_cast<std::int64_t>(row_length_.size()))
    return targets;
  const auto first =
      std::lower_bound(targets.begin(), targets.end(), static_cast<std::uint32_t>(circuit_first),
                       [](const Target& target, std::uint32_t b) { return target.circuit < b; });
  auto last = first;
  while (last != targets.end() && last->circuit < circuit_last) ++last;
  return {first, last};
}

}  // namespace seqlearn
