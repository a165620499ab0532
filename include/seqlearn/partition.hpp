// How work is shared out: the ranks' circuits (Partition, built by Network) and, within a rank,
// the threads' circuits (balanced_partition, ThreadTeam). docs/design.md 5, docs/scaling.md 2.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace seqlearn {

// Splits items 0 .. work.size() into `parts` contiguous shares: share p is [begin[p],
// begin[p + 1]). An item goes to the share its work's midpoint falls in, so shares differ
// from equal work by at most half an item's. Pure, deterministic: every rank computes the
// same split (docs/design.md 2).
inline std::vector<std::int64_t> balanced_partition(const std::vector<double>& work, int parts) {
  const auto n = static_cast<std::int64_t>(work.size());
  std::vector<std::int64_t> begin(static_cast<std::size_t>(parts) + 1, n);
  begin[0] = 0;
  double total = 0;
  for (double w : work) total += w;
  double before = 0;
  int part = 0;
  for (std::size_t i = 0; i < work.size(); ++i) {
    const double midpoint = before + 0.5 * work[i];
    const int owner = std::min(parts - 1, static_cast<int>(midpoint / total * parts));
    while (part < owner) begin[static_cast<std::size_t>(++part)] = static_cast<std::int64_t>(i);
    before += work[i];
  }
  return begin;
}

// Circuits [first, end): consecutive ids, i.e. part of one grid row or whole rows.
struct CircuitRun {
  std::int64_t first = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - first; }
  friend bool operator==(const CircuitRun&, const CircuitRun&) = default;
};

// run.partition: the shape of a rank's share of the grid (circuit c sits at row c / cols,
// column c % cols).
//   strips  a contiguous range of circuit ids: whole grid rows, the ends cut anywhere;
//   tiles   about a rectangle: the circuits are cut in id order into `bands` (as strips are, so
//           a band's first and last rows may be partial), each band in column-major order into
//           `columns` ranges (so a range's first and last columns may be partial: split between
//           rows), bands x columns = ranks, rank b * columns + j owning band b's range j.
// Both balance the estimated work (synapses) per circuit to within one circuit's: strips over
// all circuits, tiles first over all circuits into bands, then within each band. A tile's halo (the
// sources its synapses listen to beyond its own circuits) grows with its perimeter, a strip's with
// the grid's width: docs/scaling.md.
enum class PartitionShape { strips, tiles };
const char* to_string(PartitionShape shape);

class Partition {
 public:
  Partition() = default;
  static Partition strips(const std::vector<double>& circuit_work, int ranks);
  // `circuit_work` holds rows x cols values.
  static Partition tiles(const std::vector<double>& circuit_work, int rows, int cols, int ranks);
  // The bands x columns = ranks of the tiles nearest to squares on a rows x cols grid.
  static std::pair<int, int> tile_grid(int rows, int cols, int ranks);

  PartitionShape shape() const { return shape_; }
  int ranks() const { return ranks_; }
  int bands() const { return bands_; }      // tiles: bands of rows (strips: 1)
  int columns() const { return columns_; }  // tiles: ranges per band (strips: 1)

  // The circuits of `rank`, ascending, as maximal runs of consecutive ids (none if it owns
  // none: more ranks than circuits).
  std::vector<CircuitRun> runs_of(int rank) const;

 private:
  PartitionShape shape_ = PartitionShape::strips;
  int ranks_ = 1;
  int cols_ = 1;
  int bands_ = 1;
  int columns_ = 1;
  std::vector<std::int64_t> strip_begin_;  // strips: per rank + 1, circuit ids
  std::vector<std::int64_t> band_begin_;   // tiles: per band + 1, circuit ids
  // tiles: per band, columns + 1 cuts, as positions column * band_rows + row_in_band
  std::vector<std::int64_t> column_cut_;

  std::int64_t lowest_column(std::int64_t cut, std::int64_t row_in_band,
                             std::int64_t band_rows) const;
};

}  // namespace seqlearn
