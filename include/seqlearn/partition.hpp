// Contiguous shares of a sequence of items balanced by work: the ranks' circuits
// (Network::partition) and, within a rank, the threads' circuits (ThreadTeam).
#pragma once

#include <algorithm>
#include <cstdint>
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

}  // namespace seqlearn
