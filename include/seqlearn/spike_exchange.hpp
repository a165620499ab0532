// The spike exchange of one rank (docs/design.md 3, docs/scaling.md): the words it sends at the
// end of an exchange interval (its neurons' spikes, and the control words that must reach every
// rank in the same interval: a stop request, a divergence report), the collective, and the
// decoded words of the circuits this rank needs. The step loop talks to other ranks through it
// alone.
//
// Two modes (run.exchange), with the same words received in the same order, so results do not
// depend on the mode:
//   allgather  every rank receives every rank's words (one Allgather) and drops those of
//              circuits it does not need;
//   directed   a spike goes only to the ranks that listen to its circuit, found once at set-up
//              (a graph of neighbours: MPI_Neighbor_alltoall of the counts, then
//              MPI_Neighbor_alltoallv); control words reach every rank through a one-word
//              all-reduce that says whether there are any, and then a gather of them.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/exchange_word.hpp"
#include "seqlearn/partition.hpp"

namespace seqlearn {

// The dynamics produced a non-finite potential, rate or weight. Every rank throws it at the
// same exchange (the report travels with the spikes), with the same message.
class DivergenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ExchangeMode { allgather, directed };
const char* to_string(ExchangeMode mode);

// Who listens to what: the circuits this rank needs, and the ranks that need each circuit this
// rank owns. Found once at set-up, from every rank's needed circuits (find_listeners).
struct ExchangeRoutes {
  std::uint64_t n_circuits = 0;
  GridRows grid;                           // the rows received spikes are put in order by (tiles)
  CircuitSet needed;                       // the circuits this rank listens to
  std::vector<CircuitRun> owned;           // the circuits this rank owns, ascending
  std::vector<std::uint32_t> owned_index;  // per run of `owned`: the index of its first
  std::vector<std::uint32_t> listener_begin;  // CSR per owned circuit (ascending) into listeners
  std::vector<std::uint32_t> listeners;       // the ranks that need the circuit, ascending
  // The directed exchange's neighbours, ascending: the ranks that own a circuit this rank
  // needs (it receives from them) and those that need one of its circuits (it sends to them).
  std::vector<int> sources;
  std::vector<int> destinations;
  // Over all ranks: the mean number of ranks that need a circuit (1 when every circuit is
  // needed by its owner alone, the rank count when every rank needs every circuit).
  double mean_listeners = 0;

  // A single rank that owns and needs circuits [0, n_circuits) (tests, one-rank runs).
  static ExchangeRoutes everything(std::uint64_t n_circuits);
  // The ranks that need owned circuit `circuit` (a run of a tile per grid row: a short search).
  std::span<const std::uint32_t> listeners_of(std::uint64_t circuit) const {
    const auto c = static_cast<std::int64_t>(circuit);
    const auto run =
        std::upper_bound(owned.begin(), owned.end(), c,
                         [](std::int64_t x, const CircuitRun& r) { return x < r.first; }) -
        1;
    const auto b = owned_index[static_cast<std::size_t>(run - owned.begin())] +
                   static_cast<std::size_t>(c - run->first);
    return {listeners.data() + listener_begin[b], listeners.data() + listener_begin[b + 1]};
  }
};

// Collective: every rank's routes from its owned circuits (ascending runs) and the circuits
// it needs (ascending, global ids); received spikes are put in order by step and `order`'s rows
// (receive_exchange).
ExchangeRoutes find_listeners(Communicator& comm, std::uint64_t n_circuits, const GridRows& order,
                              std::span<const CircuitRun> owned,
                              std::span<const std::uint32_t> needed);

// run.exchange = auto (docs/scaling.md, "Which exchange"): directed when the cost model says
// that what it saves per exchange, the bytes and the walk of every word a rank does not need,
// outweighs what it adds, a collective for the counts and a message per listening peer.
// `words` is the expected number of spikes per exchange interval (every circuit fires at
// r_max, M3-M5). The same choice on every rank: every argument is the same on all.
ExchangeMode choose_exchange_mode(int ranks, double mean_listeners, double words);

class SpikeExchange {
 public:
  // `mode`: none = choose_exchange_mode with `expected_words` per exchange interval. Directed:
  // collective (the neighbours' graph is built).
  SpikeExchange(Communicator& comm, ExchangeRoutes routes, std::optional<ExchangeMode> mode,
                double expected_words = 0);

  // Local neuron spike at `step_offset` steps into the interval, with the amplitude R*u it
  // carries (M6; this rank, its owner, advanced its STP state: M12-M14). Serial part only.
  void post_spike(std::int64_t step_offset, std::uint64_t circuit, std::uint32_t position,
                  double amplitude) {
    outgoing_.push_back(ExchangeWord::spike(step_offset, circuit, position).bits());
    outgoing_.push_back(std::bit_cast<std::uint64_t>(amplitude));
  }

  // Asks every rank to stop after the next exchange. Async-signal-safe.
  void request_stop() { stop_requested_.store(true); }
  // Some rank asked to stop in an exchange so far: every rank learns it in the same one.
  bool stop_agreed() const { return stop_agreed_; }

  // Keeps the first non-finite value seen on this rank (earliest step, then lowest neuron);
  // the next exchange reports it to every rank. Safe from any thread.
  void note_divergence(std::int64_t step, std::uint64_t neuron);

  // The collective of an interval of `interval_steps` steps: sends the posted words and the
  // control words, and returns the spikes of the circuits this rank needs in step order, then
  // global neuron order (receive_exchange). Throws DivergenceError, on every rank
  // alike, if any rank reported one. Adds its wall time to `wall_s` and, on more than one rank,
  // its CPU time to `cpu_s` (waiting in a collective may burn CPU: that is not compute).
  const ReceivedExchange& exchange(std::int64_t interval_steps, double& wall_s, double& cpu_s);

  ExchangeMode mode() const { return mode_; }
  const ExchangeRoutes& routes() const { return routes_; }
  const Communicator& communicator() const { return comm_; }
  // Benchmark figures: words received (needed or not) and the wall seconds spent sorting them
  // out (receive_exchange), over all exchanges so far.
  std::uint64_t received_words() const { return received_words_; }
  double walk_s() const { return walk_s_; }

 private:
  void append_control_words();
  void exchange_directed();

  Communicator& comm_;
  ExchangeRoutes routes_;
  ExchangeMode mode_;
  std::vector<std::uint64_t> outgoing_;   // items (exchange_word.hpp): local spikes
  std::vector<std::uint64_t> control_;    // items: this interval's control words
  std::vector<std::uint64_t> send_;       // directed: outgoing_ by destination
  std::vector<int> send_counts_;          // directed: words (not items) per destination
  std::vector<std::size_t> send_cursor_;  // directed: where the next word to a destination goes
  std::vector<int> destination_of_rank_;  // directed: index in routes_.destinations, or -1
  std::vector<std::uint64_t> incoming_;   // what the collective returned
  ReceivedExchange received_;             // incoming_ decoded
  std::atomic<bool> stop_requested_{false};
  bool stop_agreed_ = false;
  std::mutex divergence_mutex_;
  std::optional<Divergence> divergence_;
  std::uint64_t received_words_ = 0;
  double walk_s_ = 0;
};

}  // namespace seqlearn
