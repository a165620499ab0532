// The receiving side of the spike exchange alone (bench/exchange_walk.sh, docs/scaling.md):
// wall nanoseconds per received word for receive_exchange, by the fraction of words whose
// circuit the rank needs. A rank of a large job needs few of the words an Allgather brings it;
// issue 20's bound is 3 ns for a word it does not need. Prints one `exchange_walk:` line per
// fraction.
// The words come from RANKS ranks (default 64) that own tiles of a square grid (partition.hpp),
// each posting its own in step and id order, as the program does, one rank after another.
// Usage: bench_exchange [N_CIRCUITS [WORDS_PER_INTERVAL [INTERVAL_STEPS [RANKS]]]]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "seqlearn/exchange_word.hpp"
#include "seqlearn/partition.hpp"
#include "seqlearn/rng.hpp"

int main(int argc, char** argv) {
  const std::uint64_t n_circuits = argc > 1 ? std::stoull(argv[1]) : 1000000;
  const std::size_t words = argc > 2 ? std::stoull(argv[2]) : 100000;
  const std::int64_t interval_steps = argc > 3 ? std::stoll(argv[3]) : 1;
  const int ranks = argc > 4 ? std::stoi(argv[4]) : 64;
  const auto side =
      static_cast<std::uint64_t>(std::ceil(std::sqrt(static_cast<double>(n_circuits))));
  const seqlearn::GridRows grid(side, side);
  const seqlearn::Partition tiles = seqlearn::Partition::tiles(
      std::vector<double>(side * side, 1.0), static_cast<int>(side), static_cast<int>(side), ranks);
  std::vector<int> owner(side * side);
  for (int r = 0; r < ranks; ++r)
    for (const seqlearn::CircuitRun& run : tiles.runs_of(r))
      for (std::int64_t c = run.first; c < run.end; ++c) owner[static_cast<std::size_t>(c)] = r;
  const seqlearn::CounterRng rng(1);
  // Spikes of random circuits, in step order, each given to its circuit's rank; each rank's in
  // step order and then id order (as it posts them), the ranks one after another (as the
  // collective returns them), with amplitudes.
  std::vector<std::vector<std::uint64_t>> posted(static_cast<std::size_t>(ranks));
  for (std::size_t i = 0; i < words; ++i) {
    const auto circuit = static_cast<std::uint64_t>(
        rng.uniform(seqlearn::Purpose::generator, i, 0) * static_cast<double>(n_circuits));
    const auto offset =
        static_cast<std::int64_t>(i * static_cast<std::size_t>(interval_steps) / words);
    posted[static_cast<std::size_t>(owner[circuit])].push_back(
        seqlearn::ExchangeWord::spike(offset, circuit, static_cast<std::uint32_t>(i % 10)).bits());
  }
  std::vector<std::uint64_t> items;
  for (auto& mine : posted) {
    std::sort(mine.begin(), mine.end());
    for (const std::uint64_t word : mine) items.insert(items.end(), {word, 0});
  }
  for (const double fraction : {0.0, 0.01, 0.1, 0.5, 1.0}) {
    // The needed circuits: a contiguous band of the given share (a rank's strip and halo).
    std::vector<std::uint64_t> band;
    for (std::uint64_t c = 0;
         c < static_cast<std::uint64_t>(fraction * static_cast<double>(n_circuits)); ++c)
      band.push_back(c);
    const seqlearn::CircuitSet needed(n_circuits, band);
    seqlearn::ReceivedExchange received;
    std::uint64_t kept = 0;
    int repeats = 0;
    const auto start = std::chrono::steady_clock::now();
    double seconds = 0;
    while (seconds < 0.5 || repeats < 3) {
      seqlearn::receive_exchange(items, interval_steps, needed, received, grid);
      kept += received.spikes.size();
      ++repeats;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf(
        "exchange_walk: circuits=%llu words=%zu interval_steps=%lld ranks=%d needed_fraction=%.2f "
        "kept_per_interval=%.0f ns_per_word=%.2f\n",
        static_cast<unsigned long long>(n_circuits), words, static_cast<long long>(interval_steps),
        ranks, fraction, static_cast<double>(kept) / repeats,
        seconds * 1e9 / (static_cast<double>(repeats) * static_cast<double>(words)));
  }
  return 0;
}
