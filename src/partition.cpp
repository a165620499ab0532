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

Partition Partition::tiles(const std::vector<double>& circuit_work, int rows, int cols, int ranks) {
  Partition p;
  p.shape_ = PartitionShape::tiles;
  p.ranks_ = ranks;
  p.cols_ = cols;
  std::tie(p.bands_, p.columns_) = tile_grid(rows, cols, ranks);
  auto work = [&](std::int64_t row, std::int64_t col) {
    return circuit_work[static_cast<std::size_t>(row * cols + col)];
  };
  std::vector<double> row_work(static_cast<std::size_t>(rows), 0.0);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) row_work[static_cast<std::size_t>(i)] += work(i, j);
  p.band_begin_ = balanced_partition(row_work, p.bands_);
  for (std::size_t b = 0; b < static_cast<std::size_t>(p.bands_); ++b) {
    std::vector<double> column_work(static_cast<std::size_t>(cols), 0.0);
    for (std::int64_t i = p.band_begin_[b]; i < p.band_begin_[b + 1]; ++i)
      for (std::int64_t j = 0; j < cols; ++j)
        column_work[static_cast<std::size_t>(j)] += work(i, j);
    const std::vector<std::int64_t> begin = balanced_partition(column_work, p.columns_);
    p.column_begin_.insert(p.column_begin_.end(), begin.begin(), begin.end());
  }
  return p;
}

std::vector<CircuitRun> Partition::runs_of(int rank) const {
  std::vector<CircuitRun> runs;
  auto add = [&](std::int64_t first, std::int64_t end) {
    if (first == end) return;
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
  for (std::int64_t row = band_begin_[band]; row < band_begin_[band + 1]; ++row)
    add(row * cols_ + columns[range], row * cols_ + columns[range + 1]);
  return runs;
}

}  // namespace seqlearn
