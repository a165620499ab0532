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

// The bands are cut like strips, at any circuit (a band's first and last rows may be partial).
// Each band is then cut into column ranges the same way, in column-major order: down one column of
// the band, then the next, so that a range's last column may be shared with the next range, split
// between two rows, just as a band's last row is shared with the next band. Both cuts therefore
// balance to within one circuit's work (with whole columns, a tile was off by up to a column's: 2 %
// at 64 ranks on 256x256). In each grid row, range j holds the columns [lowest_column(cut[j]),
// lowest_column(cut[j + 1])), so within a row the circuits of a band's ranks ascend with the rank,
// and those of a row's one or two bands too, which the order of received spikes relies on
// (receive_exchange).
Partition Partition::tiles(const std::vector<double>& circuit_work, int rows, int cols, int ranks) {
  Partition p;
  p.shape_ = PartitionShape::tiles;
  p.ranks_ = ranks;
  p.cols_ = cols;
  std::tie(p.bands_, p.columns_) = tile_grid(rows, cols, ranks);
  p.band_begin_ = balanced_partition(circuit_work, p.bands_);
  for (std::size_t b = 0; b < static_cast<std::size_t>(p.bands_); ++b) {
    const std::int64_t first = p.band_begin_[b], end = p.band_begin_[b + 1];
    if (first == end) {  // more bands than circuits: an empty band, empty ranges
      p.column_cut_.insert(p.column_cut_.end(), static_cast<std::size_t>(p.columns_) + 1, 0);
      continue;
    }
    const std::int64_t first_row = first / cols;
    const std::int64_t band_rows = (end - 1) / cols - first_row + 1;
    // Position column * band_rows + (row - first_row); circuits of other bands weigh nothing.
    std::vector<double> column_major(static_cast<std::size_t>(cols * band_rows), 0.0);
    for (std::int64_t c = first; c < end; ++c)
      column_major[static_cast<std::size_t>((c % cols) * band_rows + (c / cols - first_row))] =
          circuit_work[static_cast<std::size_t>(c)];
    const std::vector<std::int64_t> cut = balanced_partition(column_major, p.columns_);
    p.column_cut_.insert(p.column_cut_.end(), cut.begin(), cut.end());
  }
  return p;
}

// The first column of row `first_row + row_in_band` at or after column-major position `cut` of a
// band of `band_rows` rows: ceil((cut - row_in_band) / band_rows), within [0, cols].
std::int64_t Partition::lowest_column(std::int64_t cut, std::int64_t row_in_band,
                                      std::int64_t band_rows) const {
  const std::int64_t ahead = cut - row_in_band;
  if (ahead <= 0) return 0;
  return std::min<std::int64_t>(cols_, (ahead + band_rows - 1) / band_rows);
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
  const std::int64_t* cut = column_cut_.data() + band * static_cast<std::size_t>(columns_ + 1);
  const std::int64_t first = band_begin_[band], end = band_begin_[band + 1];
  if (first == end) return runs;
  const std::int64_t first_row = first / cols_, last_row = (end - 1) / cols_;
  const std::int64_t band_rows = last_row - first_row + 1;
  for (std::int64_t row = first_row; row <= last_row; ++row) {
    const std::int64_t row_in_band = row - first_row;
    add(std::max(first, row * cols_ + lowest_column(cut[range], row_in_band, band_rows)),
        std::min(end, row * cols_ + lowest_column(cut[range + 1], row_in_band, band_rows)));
  }
  return runs;
}

}  // namespace seqlearn
