#include "seqlearn/partition.hpp"

#include <cmath>
#include <limits>
#include <tuple>

namespace seqlearn {

const char* to_string(PartitionShape shape) {
  return shape == PartitionShape::tiles ? "tiles" : "strips";
}

Partition Partition::strips(const std::vector<double>& circuit_work, int ranks) {
  Partition p;
  p.shape_ = PartitionShape::strips;
  p.ranks_ = ranks;
  p.strip_begin_ = balanced_partition(circuit_work, ranks);
  return p;
}

// Among the factorisations bands x columns = ranks, the one whose tiles are nearest to squares
// (|log of the aspect ratio|; of two as near, the one with more bands, whose tiles are more
// often whole rows); a factorisation that would leave a band without rows or a range without
// columns only if no other exists.
std::pair<int, int> Partition::tile_grid(int rows, int cols, int ranks) {
  int best = 0;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int bands = 1; bands <= ranks; ++bands) {
    if (ranks % bands != 0) continue;
    const int columns = ranks / bands;
    const double aspect =
        (static_cast<double>(rows) / bands) / (static_cast<double>(cols) / columns);
    const bool fits = bands <= rows && columns <= cols;
    const double cost = std::abs(std::log(aspect)) + (fits ? 0.0 : 1e9);
    if (cost <= best_cost + 1e-9) {
      best_cost = cost;
      best = bands;
    }
  }
  return {best, ranks / best};
}

// The bands are cut like strips, at any circuit (so that they balance as finely as strips do:
// a band's first and last rows may be partial); then each band's columns, by the band's work in
// them. Within a grid row the circuits of its one or two bands' ranks then ascend with the rank,
// which the order of received spikes relies on (receive_exchange).
Partition Partition::tiles(const std::vector<double>& circuit_work, int rows, int cols, int ranks) {
  Partition p;
  p.shape_ = PartitionShape::tiles;
  p.ranks_ = ranks;
  p.cols_ = cols;
  std::tie(p.bands_, p.columns_) = tile_grid(rows, cols, ranks);
  p.band_begin_ = balanced_partition(circuit_work, p.bands_);
  for (std::size_t b = 0; b < static_cast<std::size_t>(p.bands_); ++b) {
    std::vector<double> column_work(static_cast<std::size_t>(cols), 0.0);
    for (std::int64_t c = p.band_begin_[b]; c < p.band_begin_[b + 1]; ++c)
      column_work[static_cast<std::size_t>(c % cols)] += circuit_work[static_cast<std::size_t>(c)];
    const std::vector<std::int64_t> begin = balanced_partition(column_work, p.columns_);
    p.column_begin_.insert(p.column_begin_.end(), begin.begin(), begin.end());
  }
  return p;
}

std::vector<CircuitRun> Partition::runs_of(int rank) const {
  std::vector<CircuitRun> runs;
  auto add = [&](std::int64_t first, std::int64_t end) {
    if (first >= end) return;
    if (!runs.empty() && runs.back().end == first)
      runs.back().end = end;  // whole rows: one run
    else
      runs.push_back({first, end});
  };
  const auto r = static_cast<std::size_t>(rank);
  if (shape_ == PartitionShape::strips) {
    add(strip_begin_[r], strip_begin_[r + 1]);
    return runs;
  }
  const std::size_t band = r / static_cast<std::size_t>(columns_);
  const std::size_t range = r % static_cast<std::size_t>(columns_);
  const std::int64_t* columns =
      column_begin_.data() + band * static_cast<std::size_t>(columns_ + 1);
  const std::int64_t first = band_begin_[band], end = band_begin_[band + 1];
  if (first == end) return runs;
  for (std::int64_t row = first / cols_; row <= (end - 1) / cols_; ++row)
    add(std::max(first, row * cols_ + columns[range]),
        std::min(end, row * cols_ + columns[range + 1]));
  return runs;
}

}  // namespace seqlearn
