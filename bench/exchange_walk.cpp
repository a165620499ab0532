// The receiving side of the spike exchange alone (bench/exchange_walk.sh, docs/scaling.md):
// wall nanoseconds per received word for receive_exchange, by the fraction of words whose
// circuit the rank needs. A rank of a large job needs few of the words an Allgather brings it;
// issue 20's bound is 3 ns for a word it does not need. Prints one `exchange_walk:` line per
// fraction.
// Usage: bench_exchange [N_CIRCUITS [WORDS_PER_INTERVAL [INTERVAL_STEPS]]]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "seqlearn/exchange_word.hpp"
#include "seqlearn/rng.hpp"

int main(int argc, char** argv) {
  const std::uint64_t n_circuits = argc > 1 ? std::stoull(argv[1]) : 1000000;
  const std::size_t words = argc > 2 ? std::stoull(argv[2]) : 100000;
  const std::int64_t interval_steps = argc > 3 ? std::stoll(argv[3]) : 1;
  const seqlearn::CounterRng rng(1);
  // Spikes of random circuits, in step order (as each rank posts them), with amplitudes.
  std::vector<std::uint64_t> items;
  for (std::size_t i = 0; i < words; ++i) {
    const auto circuit = static_cast<std::uint64_t>(
        rng.uniform(seqlearn::Purpose::generator, i, 0) * static_cast<double>(n_circuits));
    const auto offset =
        static_cast<std::int64_t>(i * static_cast<std::size_t>(interval_steps) / words);
    items.push_back(
        seqlearn::ExchangeWord::spike(offset, circuit, static_cast<std::uint32_t>(i % 10)).bits());
    items.push_back(0);
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
      seqlearn::receive_exchange(items, interval_steps, needed, received);
      kept += received.spikes.size();
      ++repeats;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf(
        "exchange_walk: circuits=%llu words=%zu interval_steps=%lld needed_fraction=%.2f "
        "kept_per_interval=%.0f ns_per_word=%.2f\n",
        static_cast<unsigned long long>(n_circuits), words, static_cast<long long>(interval_steps),
        fraction, static_cast<double>(kept) / repeats,
        seconds * 1e9 / (static_cast<double>(repeats) * static_cast<double>(words)));
  }
  return 0;
}
