#include "seqlearn/spike_router.hpp"

#include <algorithm>

#include "seqlearn/config.hpp"

namespace seqlearn {

SpikeRouter::SpikeRouter(const Network& network, std::int64_t circuit_begin,
                         std::int64_t circuit_end, int delay_steps)
    : network_(network),
      circuit_begin_(circuit_begin),
      n_inputs_(static_cast<std::uint32_t>(network.n_inputs())),
      arrivals_(static_cast<std::size_t>(delay_steps)) {
  const auto n_local_circuits = static_cast<std::size_t>(circuit_end - circuit_begin);

  // Source circuits of every local circuit; their union is the set of needed circuits.
  // The local circuits are included too: their owner keeps (and checkpoints) their state as
  // sources, whether or not a local circuit listens to them.
  std::vector<std::vector<std::uint32_t>> sources(n_local_circuits);
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    const auto circuit = circuit_begin + static_cast<std::int64_t>(b);
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
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    for (const Block& block : blocks_of(static_cast<std::int64_t>(b)))
      for (std::uint32_t o = 0; o < block.count; ++o)
        row_local_sources_.push_back(block.first_source + o);
    row_start_[b + 1] = row_local_sources_.size();
  }
  target_begin_.assign(needed_circuits_.size() + 1, 0);
  for (std::size_t i = 0; i < needed_circuits_.size(); ++i) {
    targets_.insert(targets_.end(), targets_of[i].begin(), targets_of[i].end());
    target_begin_[i + 1] = targets_.size();
    std::uint64_t reached = 0;
    for (const Target& t : targets_of[i])
      reached += static_cast<std::uint64_t>(network.circuit_size(circuit_begin + t.circuit));
    target_neurons_.push_back(reached);
  }
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

}  // namespace seqlearn
