#include "seqlearn/network.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <stdexcept>
#include <string>

#include "seqlearn/partition.hpp"

namespace seqlearn {

// K_c ~ U{k_min..k_max} (docs/model.md 1).
int circuit_size_of(const Config& config, std::int64_t circuit) {
  return static_cast<int>(CounterRng(config.seed)
                              .uniform_int(config.k_min, config.k_max, Purpose::circuit_size,
                                           static_cast<std::uint64_t>(circuit), 0));
}

std::uint64_t count_neurons(const Config& config) {
  std::uint64_t neurons = 0;
  for (std::int64_t c = 0; c < config.n_circuits(); ++c)
    neurons += static_cast<std::uint64_t>(circuit_size_of(config, c));
  return neurons;
}

Network::Network(const Config& config, int n_ranks)
    : rng_(config.seed),
      rows_(config.rows),
      cols_(config.cols),
      n_inputs_(config.n_inputs),
      connectivity_(config.connectivity),
      boundary_(config.boundary),
      lambda_(config.lambda),
      wta_indegree_(config.wta_indegree),
      dt_s_(config.dt_s()),
      stp_U_(config.stp_U),
      stp_D_s_(config.stp_D_ms * 1e-3),
      stp_F_s_(config.stp_F_ms * 1e-3),
      stp_cv_(config.stp_cv),
      p_conn_(config.p_conn),
      train_fraction_(config.train_fraction),
      n_ranks_(n_ranks) {
  const auto n_circuits = static_cast<std::size_t>(config.n_circuits());
  circuit_size_.resize(n_circuits);
  first_neuron_.resize(n_circuits + 1, 0);
  for (std::size_t c = 0; c < n_circuits; ++c) {
    circuit_size_[c] =
        static_cast<std::uint16_t>(circuit_size_of(config, static_cast<std::int64_t>(c)));
    first_neuron_[c + 1] = first_neuron_[c] + circuit_size_[c];
  }
  if (connectivity_ == Connectivity::km2013) build_km2013(config);
  estimate_work(config);
  partition_ = make_partition(config.partition == PartitionChoice::tiles ? PartitionShape::tiles
                                                                         : PartitionShape::strips);
}

std::int64_t Network::circuit_of(std::uint64_t neuron) const {
  const auto it = std::upper_bound(first_neuron_.begin(), first_neuron_.end(), neuron);
  return static_cast<std::int64_t>(it - first_neuron_.begin()) - 1;
}

// docs/model.md 1, rule km2013: repeat { d ~ Exp(mean 1/lambda); pick uniformly an ordered pair (A,
// B) with d-1 < dist(A,B) <= d+1 (A = B included, then nothing is marked) } until n_conn distinct
// pairs A != B are marked. Pairs sorted by distance make each draw a binary search.
namespace {
struct Km2013Pair {
  double distance;
  std::uint32_t from, to;
};
}  // namespace

// Per ordered pair: the pair, its distance again (the binary search's array) and its mark.
double Network::km2013_table_bytes(std::int64_t circuits) {
  const auto n = static_cast<double>(circuits);
  return n * n * static_cast<double>(sizeof(Km2013Pair) + sizeof(double) + sizeof(char));
}

void Network::build_km2013(const Config& config) {
  const std::int64_t n = config.n_circuits();
  const std::int64_t target = std::min<std::int64_t>(config.n_conn, n * (n - 1));
  using Pair = Km2013Pair;
  std::vector<Pair> pairs;
  pairs.reserve(static_cast<std::size_t>(n * n));
  for (std::int64_t a = 0; a < n; ++a) {
    for (std::int64_t b = 0; b < n; ++b) {
      const double di = static_cast<double>(a / cols_ - b / cols_);
      const double dj = static_cast<double>(a % cols_ - b % cols_);
      pairs.push_back({std::sqrt(di * di + dj * dj), static_cast<std::uint32_t>(a),
                       static_cast<std::uint32_t>(b)});
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const Pair& x, const Pair& y) { return x.distance < y.distance; });
  std::vector<double> distances(pairs.size());
  std::transform(pairs.begin(), pairs.end(), distances.begin(),
                 [](const Pair& p) { return p.distance; });

  std::vector<char> marked(static_cast<std::size_t>(n * n), 0);
  std::int64_t n_marked = 0;
  const std::uint64_t max_draws = 100000000ULL;
  for (std::uint64_t draw = 0; n_marked < target; ++draw) {
    if (draw == max_draws)
      throw std::runtime_error("km2013 connectivity: no " + std::to_string(target) +
                               " distinct pairs after 1e8 draws; lower network.n_conn");
    const double d = rng_.exponential(1.0 / lambda_, Purpose::km2013_draw, draw, 0);
    const auto first = std::upper_bound(distances.begin(), distances.end(), d - 1.0);
    const auto last = std::upper_bound(distances.begin(), distances.end(), d + 1.0);
    if (first == last) continue;
    const auto pick = rng_.uniform_int(0, last - first - 1, Purpose::km2013_draw, draw, 1);
    const Pair& p = pairs[static_cast<std::size_t>((first - distances.begin()) + pick)];
    char& flag = marked[static_cast<std::size_t>(p.from) * static_cast<std::size_t>(n) + p.to];
    if (p.from != p.to && !flag) {
      flag = 1;
      ++n_marked;
    }
  }
  km_source_begin_.assign(static_cast<std::size_t>(n) + 1, 0);
  for (std::int64_t b = 0; b < n; ++b) {
    for (std::int64_t a = 0; a < n; ++a)
      if (marked[static_cast<std::size_t>(a * n + b)])
        km_sources_.push_back(static_cast<std::uint32_t>(a));
    km_source_begin_[static_cast<std::size_t>(b) + 1] = km_sources_.size();
  }
}

// docs/model.md 1, rule fixed_indegree: radius ~ Exp(mean 1/lambda) and a uniform angle from the
// target, rounded to the nearest grid point; outside the grid it is rejected (open) or wrapped
// (periodic); itself and repeats are rejected. Depends only on (seed, circuit).
std::vector<std::uint32_t> Network::draw_fixed_indegree(std::int64_t circuit) const {
  const auto row = static_cast<double>(circuit / cols_);
  const auto col = static_cast<double>(circuit % cols_);
  std::vector<std::uint32_t> sources;
  const std::uint64_t max_tries = 10000ULL * static_cast<std::uint64_t>(wta_indegree_) + 100000ULL;
  for (std::uint64_t attempt = 0; static_cast<int>(sources.size()) < wta_indegree_; ++attempt) {
    if (attempt == max_tries)
      throw std::runtime_error("fixed_indegree connectivity: circuit " + std::to_string(circuit) +
                               " found only " + std::to_string(sources.size()) + " of " +
                               std::to_string(wta_indegree_) +
                               " sources; lower network.wta_indegree or use boundary = periodic");
    const double radius = -std::log(rng_.uniform(Purpose::indegree_draw,
                                                 static_cast<std::uint64_t>(circuit), attempt, 0)) /
                          lambda_;
    const double angle =
        2.0 * std::numbers::pi *
        rng_.uniform(Purpose::indegree_draw, static_cast<std::uint64_t>(circuit), attempt, 1);
    auto r = static_cast<std::int64_t>(std::round(row + radius * std::sin(angle)));
    auto c = static_cast<std::int64_t>(std::round(col + radius * std::cos(angle)));
    if (boundary_ == Boundary::periodic) {
      r = ((r % rows_) + rows_) % rows_;
      c = ((c % cols_) + cols_) % cols_;
    } else if (r < 0 || r >= rows_ || c < 0 || c >= cols_) {
      continue;
    }
    const auto source = static_cast<std::uint32_t>(r * cols_ + c);
    if (source == circuit || std::find(sources.begin(), sources.end(), source) != sources.end())
      continue;
    sources.push_back(source);
  }
  std::sort(sources.begin(), sources.end());
  return sources;
}

std::vector<std::uint32_t> Network::sources_of(std::int64_t circuit) const {
  if (connectivity_ == Connectivity::fixed_indegree) return draw_fixed_indegree(circuit);
  const auto begin = km_sources_.begin() + static_cast<std::ptrdiff_t>(
                                               km_source_begin_[static_cast<std::size_t>(circuit)]);
  const auto end =
      km_sources_.begin() +
      static_cast<std::ptrdiff_t>(km_source_begin_[static_cast<std::size_t>(circuit) + 1]);
  return {begin, end};
}

// docs/model.md 2: U ~ N(U, (cv U)^2) clipped >= 0; D, F ~ N(mean, (cv mean)^2) clipped >= dt.
// Inputs are static synapses (U = 1, D = F = dt).
StpParameters Network::stp_parameters(std::uint64_t source) const {
  if (source < static_cast<std::uint64_t>(n_inputs_)) return {1.0, dt_s_, dt_s_};
  StpParameters p;
  p.U = std::max(0.0, stp_U_ + stp_cv_ * stp_U_ * rng_.normal(Purpose::stp_parameters, source, 0));
  p.D_s = std::max(dt_s_,
                   stp_D_s_ + stp_cv_ * stp_D_s_ * rng_.normal(Purpose::stp_parameters, source, 1));
  p.F_s = std::max(dt_s_,
                   stp_F_s_ + stp_cv_ * stp_F_s_ * rng_.normal(Purpose::stp_parameters, source, 2));
  return p;
}

// Contiguous circuits per rank, balanced by estimated work = synapses onto the circuit. A
// circuit goes to the rank in whose share the midpoint of its work falls.
// The work of a circuit: its neurons' synapses (inputs and the expected recurrent ones), and
// one more per neuron for its own update.
void Network::estimate_work(const Config& config) {
  const auto n = static_cast<std::size_t>(n_circuits());
  const double mean_k = 0.5 * (config.k_min + config.k_max);
  std::vector<double>& work = circuit_work_;
  work.resize(n);
  for (std::size_t c = 0; c < n; ++c) {
    double fan_in = n_inputs_;
    if (connectivity_ == Connectivity::km2013) {
      for (auto a : sources_of(static_cast<std::int64_t>(c))) fan_in += p_conn_ * circuit_size_[a];
    } else {
      fan_in += p_conn_ * wta_indegree_ * mean_k;
    }
    work[c] = circuit_size_[c] * (fan_in + 1.0);
  }
}

std::uint64_t Network::needed_neurons(const std::vector<CircuitRun>& owned) const {
  std::vector<std::uint32_t> needed;
  for (const CircuitRun& run : owned)
    for (std::int64_t c = run.first; c < run.end; ++c) {
      const std::vector<std::uint32_t> sources = sources_of(c);
      needed.insert(needed.end(), sources.begin(), sources.end());
      needed.push_back(static_cast<std::uint32_t>(c));
    }
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  std::uint64_t neurons = 0;
  for (const std::uint32_t c : needed) neurons += circuit_size_[c];
  return neurons;
}

Partition Network::make_partition(PartitionShape shape) const {
  return shape == PartitionShape::tiles ? Partition::tiles(circuit_work_, rows_, cols_, n_ranks_)
                                        : Partition::strips(circuit_work_, n_ranks_);
}

}  // namespace seqlearn
