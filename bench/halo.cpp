// The halo of a partition (bench/halo.sh, docs/scaling.md): the sources whose EPSP traces the
// ranks advance every step (M1, M6), summed over the ranks, against the network's neurons.
// Today's partition gives each rank a contiguous range of circuits, i.e. a strip of grid rows;
// 2-D tiles of the same grid are computed beside it for comparison (not yet a partition the
// simulator offers). Prints one `halo:` line per rank count.
// Usage: bench_halo GRID [RANKS...]    e.g. bench_halo 256x256 16 32 64
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/network.hpp"

namespace {

// Neurons of the circuits `owned` and of all their source circuits.
std::uint64_t needed_neurons(const seqlearn::Network& network,
                             const std::vector<std::vector<std::uint32_t>>& sources,
                             const std::vector<std::int64_t>& owned,
                             std::vector<std::uint8_t>& mark) {
  std::fill(mark.begin(), mark.end(), 0);
  std::uint64_t neurons = 0;
  auto add = [&](std::int64_t c) {
    if (mark[static_cast<std::size_t>(c)] != 0) return;
    mark[static_cast<std::size_t>(c)] = 1;
    neurons += static_cast<std::uint64_t>(network.circuit_size(c));
  };
  for (const std::int64_t c : owned) {
    add(c);
    for (const std::uint32_t s : sources[static_cast<std::size_t>(c)]) add(s);
  }
  return neurons;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string grid = argc > 1 ? argv[1] : "256x256";
  std::vector<int> rank_counts;
  for (int i = 2; i < argc; ++i) rank_counts.push_back(std::stoi(argv[i]));
  if (rank_counts.empty()) rank_counts = {1, 16, 32, 64};
  const seqlearn::Config config = seqlearn::make_config({{"network.grid", grid},
                                                         {"network.connectivity", "fixed_indegree"},
                                                         {"network.boundary", "periodic"}});
  const seqlearn::Network whole(config, 1);
  std::vector<std::vector<std::uint32_t>> sources;
  for (std::int64_t c = 0; c < whole.n_circuits(); ++c) sources.push_back(whole.sources_of(c));
  std::vector<std::uint8_t> mark(static_cast<std::size_t>(whole.n_circuits()));
  const auto neurons = static_cast<double>(whole.n_neurons());
  const int rows = whole.rows(), cols = whole.cols();
  for (const int ranks : rank_counts) {
    const seqlearn::Network network(config, ranks);
    double strips = 0, strips_max = 0;
    for (int r = 0; r < ranks; ++r) {
      const auto [first, last] = network.circuits_of_rank(r);
      std::vector<std::int64_t> owned;
      for (std::int64_t c = first; c < last; ++c) owned.push_back(c);
      const auto n = static_cast<double>(needed_neurons(network, sources, owned, mark));
      strips += n;
      strips_max = std::max(strips_max, n);
    }
    // Tiles: tile_rows x tile_cols = ranks with tiles as square as the grid allows.
    int tile_rows = 1;
    for (int t = 1; t <= ranks; ++t)
      if (ranks % t == 0 && std::abs(std::log(static_cast<double>(rows) / t /
                                              (static_cast<double>(cols) * t / ranks))) <
                                std::abs(std::log(static_cast<double>(rows) / tile_rows /
                                                  (static_cast<double>(cols) * tile_rows / ranks))))
        tile_rows = t;
    const int tile_cols = ranks / tile_rows;
    double tiles = 0, tiles_max = 0;
    for (int tr = 0; tr < tile_rows; ++tr)
      for (int tc = 0; tc < tile_cols; ++tc) {
        std::vector<std::int64_t> owned;
        for (int i = rows * tr / tile_rows; i < rows * (tr + 1) / tile_rows; ++i)
          for (int j = cols * tc / tile_cols; j < cols * (tc + 1) / tile_cols; ++j)
            owned.push_back(static_cast<std::int64_t>(i) * cols + j);
        const auto n = static_cast<double>(needed_neurons(network, sources, owned, mark));
        tiles += n;
        tiles_max = std::max(tiles_max, n);
      }
    std::printf(
        "halo: grid=%s ranks=%d strips_halo=%.3f strips_max_needed_fraction=%.4f tiles=%dx%d "
        "tiles_halo=%.3f tiles_max_needed_fraction=%.4f\n",
        grid.c_str(), ranks, strips / neurons, strips_max / neurons, tile_rows, tile_cols,
        tiles / neurons, tiles_max / neurons);
  }
  return 0;
}
