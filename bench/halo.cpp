// The halo of a partition (bench/halo.sh, docs/scaling.md): the sources whose EPSP traces the
// ranks advance every step (M1, M6), summed over the ranks, against the network's neurons, for
// both shapes of run.partition: strips (contiguous ranges of circuits, i.e. strips of grid rows)
// and tiles (partition.hpp); and the static imbalance of each, the most neurons a rank owns against
// the mean (the work estimate is proportional to them here). Prints one `halo:` line per rank
// count. Usage: bench_halo GRID [RANKS...]    e.g. bench_halo 256x256 16 32 64
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/network.hpp"

int main(int argc, char** argv) {
  const std::string grid = argc > 1 ? argv[1] : "256x256";
  std::vector<int> rank_counts;
  for (int i = 2; i < argc; ++i) rank_counts.push_back(std::stoi(argv[i]));
  if (rank_counts.empty()) rank_counts = {1, 16, 32, 64};
  const seqlearn::Config config = seqlearn::make_config({{"network.grid", grid},
                                                         {"network.connectivity", "fixed_indegree"},
                                                         {"network.boundary", "periodic"},
                                                         {"run.partition", "strips"}});
  for (const int ranks : rank_counts) {
    seqlearn::Network network(config, ranks);
    const auto neurons = static_cast<double>(network.n_neurons());
    double halo[2] = {0, 0}, most[2] = {0, 0}, most_owned[2] = {0, 0};
    for (const auto shape : {seqlearn::PartitionShape::strips, seqlearn::PartitionShape::tiles}) {
      network.set_partition(network.make_partition(shape));
      const auto s = static_cast<std::size_t>(shape == seqlearn::PartitionShape::tiles);
      for (int r = 0; r < ranks; ++r) {
        const auto n = static_cast<double>(network.needed_neurons(network.circuits_of_rank(r)));
        halo[s] += n;
        most[s] = std::max(most[s], n);
        double owned = 0;
        for (const seqlearn::CircuitRun& run : network.circuits_of_rank(r))
          owned +=
              static_cast<double>(network.first_neuron(run.end) - network.first_neuron(run.first));
        most_owned[s] = std::max(most_owned[s], owned);
      }
    }
    std::printf(
        "halo: grid=%s ranks=%d strips_halo=%.3f strips_max_needed_fraction=%.4f "
        "strips_owned_imbalance=%.4f tiles=%dx%d tiles_halo=%.3f tiles_max_needed_fraction=%.4f "
        "tiles_owned_imbalance=%.4f\n",
        grid.c_str(), ranks, halo[0] / neurons, most[0] / neurons, most_owned[0] * ranks / neurons,
        network.partition().bands(), network.partition().columns(), halo[1] / neurons,
        most[1] / neurons, most_owned[1] * ranks / neurons);
  }
  return 0;
}
