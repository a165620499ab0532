#include "seqlearn/spike_exchange.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "seqlearn/scoped_timer.hpp"

namespace seqlearn {

const char* to_string(ExchangeMode mode) {
  return mode == ExchangeMode::directed ? "directed" : "allgather";
}

ExchangeRoutes ExchangeRoutes::everything(std::uint64_t n_circuits) {
  ExchangeRoutes routes;
  routes.n_circuits = n_circuits;
  routes.needed = CircuitSet::all(n_circuits);
  routes.owned = {{0, static_cast<std::int64_t>(n_circuits)}};
  routes.owned_index = {0};
  routes.listener_begin.resize(n_circuits + 1);
  for (std::uint64_t c = 0; c <= n_circuits; ++c)
    routes.listener_begin[c] = static_cast<std::uint32_t>(c);
  routes.listeners.assign(n_circuits, 0);
  routes.mean_listeners = 1;
  return routes;
}

namespace {

// Appends [number of runs, first, end, first, end, ...].
void append_runs(std::vector<std::uint64_t>& out, std::span<const CircuitRun> runs) {
  out.push_back(runs.size());
  for (const CircuitRun& r : runs) {
    out.push_back(static_cast<std::uint64_t>(r.first));
    out.push_back(static_cast<std::uint64_t>(r.end));
  }
}

// `needed` (ascending) as runs of consecutive circuits: a strip of grid rows is a few runs,
// however many circuits it holds, a tile a few per grid row.
std::vector<CircuitRun> as_runs(std::span<const std::uint32_t> needed) {
  std::vector<CircuitRun> runs;
  for (std::size_t i = 0; i < needed.size();) {
    std::size_t end = i + 1;
    while (end < needed.size() && needed[end] == needed[end - 1] + 1) ++end;
    runs.push_back({needed[i], std::int64_t{needed[end - 1]} + 1});
    i = end;
  }
  return runs;
}

// Every rank's owned and needed runs, from the gathered [owned runs][needed runs] of each.
struct RankRuns {
  std::vector<CircuitRun> owned, needed;
};
std::vector<RankRuns> unpack_runs(const std::vector<std::uint64_t>& all, int ranks) {
  std::vector<RankRuns> result(static_cast<std::size_t>(ranks));
  std::size_t i = 0;
  auto read = [&](std::vector<CircuitRun>& runs) {
    const std::uint64_t n = all[i++];
    for (std::uint64_t k = 0; k < n; ++k, i += 2)
      runs.push_back({static_cast<std::int64_t>(all[i]), static_cast<std::int64_t>(all[i + 1])});
  };
  for (RankRuns& r : result) {
    read(r.owned);
    read(r.needed);
  }
  return result;
}

}  // namespace

ExchangeRoutes find_listeners(Communicator& comm, std::uint64_t n_circuits, const GridRows& order,
                              std::span<const CircuitRun> owned,
                              std::span<const std::uint32_t> needed) {
  ExchangeRoutes routes;
  routes.n_circuits = n_circuits;
  routes.grid = order;
  routes.needed = CircuitSet(n_circuits, needed);
  routes.owned.assign(owned.begin(), owned.end());
  std::uint32_t n_owned = 0;
  for (const CircuitRun& r : owned) {
    routes.owned_index.push_back(n_owned);
    n_owned += static_cast<std::uint32_t>(r.size());
  }
  std::vector<std::uint64_t> mine;
  append_runs(mine, owned);
  append_runs(mine, as_runs(needed));
  const std::vector<RankRuns> all = unpack_runs(comm.all_gather(mine), comm.size());
  // Calls f(owned circuit index, rank) for every rank that needs an owned circuit, by rank,
  // then by circuit (both run lists ascending: one merge per rank).
  auto for_each_listener = [&](auto&& f) {
    for (std::uint32_t rank = 0; rank < all.size(); ++rank) {
      std::size_t o = 0;
      for (const CircuitRun& n : all[rank].needed) {
        while (o < owned.size() && owned[o].end <= n.first) ++o;
        for (std::size_t p = o; p < owned.size() && owned[p].first < n.end; ++p)
          for (std::int64_t c = std::max(n.first, owned[p].first);
               c < std::min(n.end, owned[p].end); ++c)
            f(routes.owned_index[p] + static_cast<std::size_t>(c - owned[p].first), rank);
      }
    }
  };
  std::vector<std::uint32_t>& begin = routes.listener_begin;
  begin.assign(std::size_t{n_owned} + 1, 0);
  for_each_listener([&](std::size_t b, std::uint32_t) { ++begin[b + 1]; });
  for (std::size_t b = 1; b < begin.size(); ++b) begin[b] += begin[b - 1];
  routes.listeners.resize(begin.back());
  std::vector<std::uint32_t> cursor(begin.begin(), begin.end() - 1);
  for_each_listener(
      [&](std::size_t b, std::uint32_t rank) { routes.listeners[cursor[b]++] = rank; });
  routes.mean_listeners = comm.sum(static_cast<double>(routes.listeners.size())) /
                          static_cast<double>(std::max<std::uint64_t>(n_circuits, 1));
  // Neighbours: the ranks that listen to an owned circuit; the ranks whose owned circuits
  // this rank needs.
  std::vector<std::uint8_t> sends_to(static_cast<std::size_t>(comm.size()), 0);
  for (const std::uint32_t rank : routes.listeners) sends_to[rank] = 1;
  for (int rank = 0; rank < comm.size(); ++rank) {
    if (sends_to[static_cast<std::size_t>(rank)] != 0) routes.destinations.push_back(rank);
    bool needs_one = false;
    for (const CircuitRun& r : all[static_cast<std::size_t>(rank)].owned)
      for (std::int64_t c = r.first; c < r.end && !needs_one; ++c)
        needs_one = routes.needed.contains(static_cast<std::uint64_t>(c));
    if (needs_one) routes.sources.push_back(rank);
  }
  return routes;
}

// The cost model of docs/scaling.md, with its constants: per word a rank does not need, the
// walk (bench/exchange_walk.sh: 1.5 ns) and its 16 bytes at 10 GB/s; per collective step
// 2 us (an MPI_Allgather of 50 ints took 8 us at 16 ranks, bench/README.md), per neighbour
// message 1 us. The directed exchange adds the control words' all-reduce (log2 R steps) and
// messages to and from its neighbours (about mean_listeners of each).
ExchangeMode choose_exchange_mode(int ranks, double mean_listeners, double words) {
  constexpr double kWalkSkipS = 1.5e-9;
  constexpr double kBytePerWordS = 16 / 10e9;
  constexpr double kCollectiveStepS = 2e-6;
  constexpr double kPeerMessageS = 1e-6;
  if (ranks < 2) return ExchangeMode::allgather;
  const double unneeded = words * (1 - std::min(1.0, mean_listeners / ranks));
  const double saved_s = unneeded * (kWalkSkipS + kBytePerWordS);
  const double added_s =
      kCollectiveStepS * std::log2(static_cast<double>(ranks)) + kPeerMessageS * mean_listeners;
  return saved_s > added_s ? ExchangeMode::directed : ExchangeMode::allgather;
}

void SpikeExchange::note_divergence(std::int64_t step, std::uint64_t neuron) {
  const std::lock_guard<std::mutex> lock(divergence_mutex_);
  const Divergence d{step, neuron};
  if (!divergence_ || d < *divergence_) divergence_ = d;
}

// A stop request and a divergence report: words for every rank.
void SpikeExchange::append_control_words() {
  control_.clear();
  auto append = [&](ExchangeWord::Kind kind, std::uint64_t payload) {
    control_.push_back(ExchangeWord::control(kind, payload).bits());
    control_.push_back(0);
  };
  if (stop_requested_.load()) append(ExchangeWord::Kind::stop, 0);
  const std::lock_guard<std::mutex> lock(divergence_mutex_);
  if (!divergence_) return;
  append(ExchangeWord::Kind::diverged_step, static_cast<std::uint64_t>(divergence_->step));
  append(ExchangeWord::Kind::diverged_neuron, divergence_->neuron);
}

SpikeExchange::SpikeExchange(Communicator& comm, ExchangeRoutes routes,
                             std::optional<ExchangeMode> mode, double expected_words)
    : comm_(comm),
      routes_(std::move(routes)),
      mode_(mode.value_or(
          choose_exchange_mode(comm.size(), routes_.mean_listeners, expected_words))) {
  if (mode_ != ExchangeMode::directed) return;
  comm_.set_neighbourhood(routes_.sources, routes_.destinations);
  destination_of_rank_.assign(static_cast<std::size_t>(comm_.size()), -1);
  for (std::size_t i = 0; i < routes_.destinations.size(); ++i)
    destination_of_rank_[static_cast<std::size_t>(routes_.destinations[i])] = static_cast<int>(i);
}

// The directed exchange: outgoing_ to the ranks that listen, each destination's items in
// posted order (a counting sort by destination), through the neighbours' graph; then, if any
// rank has control words (a one-word all-reduce says so), every rank's, gathered.
void SpikeExchange::exchange_directed() {
  const std::size_t n_destinations = routes_.destinations.size();
  auto for_each_destination = [&](std::uint64_t word, auto&& f) {
    for (const std::uint32_t rank : routes_.listeners_of(ExchangeWord(word).circuit()))
      f(static_cast<std::size_t>(destination_of_rank_[rank]));
  };
  std::vector<int>& counts = send_counts_;
  counts.assign(n_destinations, 0);
  for (std::size_t i = 0; i < outgoing_.size(); i += kItemWords)
    for_each_destination(outgoing_[i],
                         [&](std::size_t d) { counts[d] += static_cast<int>(kItemWords); });
  send_cursor_.assign(n_destinations, 0);
  for (std::size_t d = 1; d < n_destinations; ++d)
    send_cursor_[d] = send_cursor_[d - 1] + static_cast<std::size_t>(counts[d - 1]);
  send_.resize(n_destinations == 0 ? 0
                                   : send_cursor_.back() + static_cast<std::size_t>(counts.back()));
  for (std::size_t i = 0; i < outgoing_.size(); i += kItemWords)
    for_each_destination(outgoing_[i], [&](std::size_t d) {
      send_[send_cursor_[d]++] = outgoing_[i];
      send_[send_cursor_[d]++] = outgoing_[i + 1];
    });
  comm_.neighbour_exchange(send_, counts, incoming_);
  if (comm_.max(std::uint64_t{!control_.empty()}) == 0) return;
  const std::vector<std::uint64_t> control = comm_.all_gather(control_);
  incoming_.insert(incoming_.end(), control.begin(), control.end());
}

const ReceivedExchange& SpikeExchange::exchange(std::int64_t interval_steps, double& wall_s,
                                                double& cpu_s) {
  append_control_words();
  {
    const ScopedTimer exchange_time(wall_s);
    std::optional<ScopedCpuTimer> exchange_cpu;
    if (comm_.size() > 1) exchange_cpu.emplace(cpu_s);
    if (mode_ == ExchangeMode::directed) {
      exchange_directed();
    } else {
      outgoing_.insert(outgoing_.end(), control_.begin(), control_.end());
      comm_.all_gather(outgoing_, incoming_);
    }
    outgoing_.clear();
  }
  {
    const ScopedTimer walk_time(walk_s_);
    receive_exchange(incoming_, interval_steps, routes_.needed, received_, routes_.grid);
  }
  received_words_ += received_.words;
  stop_agreed_ = stop_agreed_ || received_.stop;
  if (received_.divergence)
    throw DivergenceError("the dynamics diverged at step " +
                          std::to_string(received_.divergence->step) + ": neuron " +
                          std::to_string(received_.divergence->neuron) +
                          " has a non-finite potential, rate or weight (nothing was written); "
                          "lower plasticity.learning_rate or the input rates");
  return received_;
}

}  // namespace seqlearn
