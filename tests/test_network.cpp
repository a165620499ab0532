// Network structure (docs/model.md 1-2) and partition (docs/design.md 5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/network.hpp"
#include "seqlearn/partition.hpp"

using seqlearn::CircuitRun;
using seqlearn::Config;
using seqlearn::Network;
using seqlearn::PartitionChoice;
using seqlearn::PartitionShape;

TEST(Network, CircuitSizesAreUniformInRange) {
  const Config c = seqlearn::make_config(
      {{"network.grid", "60x60"}, {"network.connectivity", "fixed_indegree"}});
  const Network net(c, 1);
  std::map<int, int> histogram;
  for (std::int64_t i = 0; i < net.n_circuits(); ++i) ++histogram[net.circuit_size(i)];
  ASSERT_EQ(histogram.size(), 9u);  // 2..10
  EXPECT_EQ(histogram.begin()->first, 2);
  EXPECT_EQ(histogram.rbegin()->first, 10);
  for (auto [k, count] : histogram)
    EXPECT_NEAR(count, 400, 5 * std::sqrt(400 * 8.0 / 9.0)) << "K = " << k;
  EXPECT_EQ(net.first_neuron(net.n_circuits()), net.n_neurons());
  EXPECT_EQ(net.circuit_of(net.first_neuron(17)), 17);
  EXPECT_EQ(net.circuit_of(net.first_neuron(18) - 1), 17);
}

TEST(Km2013, ExactlyNConnDistinctPairsWithoutSelfConnections) {
  const Config c = seqlearn::make_config({});
  const Network net(c, 1);
  std::set<std::pair<std::uint32_t, std::int64_t>> pairs;
  for (std::int64_t b = 0; b < net.n_circuits(); ++b)
    for (auto a : net.sources_of(b)) {
      EXPECT_NE(a, b);
      pairs.emplace(a, b);
    }
  EXPECT_EQ(pairs.size(), 1000u);
  // Capped at C (C - 1) for tiny grids: 1x2 connects both ways.
  const Network tiny(seqlearn::make_config({{"network.grid", "1x2"}}), 1);
  EXPECT_EQ(tiny.sources_of(0), std::vector<std::uint32_t>{1});
  EXPECT_EQ(tiny.sources_of(1), std::vector<std::uint32_t>{0});
}

// The distance profile: the expected number of marked pairs per distance band follows from
// the rule (d ~ Exp(lambda), uniform pick in the band d-1 < dist <= d+1). On a 20x20 grid with
// 2000 of 159600 pairs, repeats are rare, so counts follow the per-draw probabilities.
TEST(Km2013, DistanceProfileFollowsTheRule) {
  const Config c = seqlearn::make_config({{"network.grid", "20x20"}, {"network.n_conn", "2000"}});
  const Network net(c, 1);
  const int n = 400;
  std::vector<double> distances;
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b) distances.push_back(std::hypot(a / 20 - b / 20, a % 20 - b % 20));
  std::sort(distances.begin(), distances.end());
  const std::vector<double> edges = {0.5, 2.0, 4.0, 8.0, 16.0, 30.0};
  // Probability that one draw marks a pair in bin i (self pairs mark nothing).
  std::vector<double> probability(edges.size() - 1, 0.0);
  const double step = 0.0005;
  for (double d = step / 2; d < 40; d += step) {
    const auto first =
        std::upper_bound(distances.begin(), distances.end(), d - 1) - distances.begin();
    const auto last =
        std::upper_bound(distances.begin(), distances.end(), d + 1) - distances.begin();
    if (first == last) continue;
    const double density =
        c.lambda * std::exp(-c.lambda * d) * step / static_cast<double>(last - first);
    for (std::size_t i = 0; i + 1 < edges.size(); ++i) {
      const auto lo =
          std::max(first, std::upper_bound(distances.begin(), distances.end(), edges[i]) -
                              distances.begin());
      const auto hi =
          std::min(last, std::upper_bound(distances.begin(), distances.end(), edges[i + 1]) -
                             distances.begin());
      if (hi > lo) probability[i] += density * static_cast<double>(hi - lo);
    }
  }
  double valid = 0;
  for (double p : probability) valid += p;
  std::vector<double> observed(probability.size(), 0.0);
  for (int b = 0; b < n; ++b)
    for (auto a : net.sources_of(b)) {
      const double d =
          std::hypot(static_cast<int>(a) / 20 - b / 20, static_cast<int>(a) % 20 - b % 20);
      for (std::size_t i = 0; i + 1 < edges.size(); ++i)
        if (d > edges[i] && d <= edges[i + 1]) ++observed[i];
    }
  for (std::size_t i = 0; i < probability.size(); ++i) {
    const double expected = 2000 * probability[i] / valid;
    EXPECT_NEAR(observed[i], expected, 5 * std::sqrt(expected) + 0.03 * expected)
        << "distance band (" << edges[i] << ", " << edges[i + 1] << "]";
  }
  // Per pair, nearby circuits are far more likely to be connected than distant ones.
  auto pairs_in = [&](std::size_t i) {
    return static_cast<double>(std::upper_bound(distances.begin(), distances.end(), edges[i + 1]) -
                               std::upper_bound(distances.begin(), distances.end(), edges[i]));
  };
  EXPECT_GT(observed[0] / pairs_in(0), 5 * observed[3] / pairs_in(3));
}

TEST(FixedIndegree, ExactInDegreeDistinctSourcesInsideTheGrid) {
  for (const char* boundary : {"open", "periodic"}) {
    const Config c = seqlearn::make_config({{"network.grid", "30x40"},
                                            {"network.connectivity", "fixed_indegree"},
                                            {"network.boundary", boundary},
                                            {"network.wta_indegree", "20"}});
    const Network net(c, 1);
    double mean_distance = 0;
    for (std::int64_t b = 0; b < net.n_circuits(); ++b) {
      const auto sources = net.sources_of(b);
      ASSERT_EQ(sources.size(), 20u);
      EXPECT_TRUE(std::is_sorted(sources.begin(), sources.end()));
      EXPECT_EQ(std::adjacent_find(sources.begin(), sources.end()), sources.end());
      for (auto a : sources) {
        EXPECT_NE(static_cast<std::int64_t>(a), b);
        EXPECT_LT(a, 1200u);
        mean_distance +=
            std::hypot(static_cast<int>(a) / 40 - b / 40, static_cast<int>(a) % 40 - b % 40);
      }
    }
    mean_distance /= 1200.0 * 20;
    // Exponential radius, mean 1/lambda = 11.4 grid units, truncated by the grid: clearly
    // local, yet far beyond nearest neighbours.
    EXPECT_GT(mean_distance, 4.0) << boundary;
    EXPECT_LT(mean_distance, 16.0) << boundary;
  }
}

TEST(FixedIndegree, SourcesDependOnlyOnSeedAndCircuit) {
  const Config c = seqlearn::make_config({{"network.grid", "50x50"},
                                          {"network.connectivity", "fixed_indegree"},
                                          {"network.boundary", "periodic"}});
  const Network one(c, 1), seven(c, 7);
  for (std::int64_t b : {0, 1, 777, 2499}) EXPECT_EQ(one.sources_of(b), seven.sources_of(b));
  const Network other(seqlearn::make_config({{"network.grid", "50x50"},
                                             {"network.connectivity", "fixed_indegree"},
                                             {"network.boundary", "periodic"},
                                             {"run.seed", "2"}}),
                      1);
  EXPECT_NE(one.sources_of(777), other.sources_of(777));
}

// Every circuit owned by exactly one rank, a rank's runs ascending and maximal.
void expect_complete(const Network& net, int ranks, int& empty) {
  std::vector<int> owner(static_cast<std::size_t>(net.n_circuits()), -1);
  empty = 0;
  for (int r = 0; r < ranks; ++r) {
    const std::vector<CircuitRun> runs = net.circuits_of_rank(r);
    empty += runs.empty();
    for (std::size_t i = 0; i < runs.size(); ++i) {
      EXPECT_LT(runs[i].first, runs[i].end);
      if (i > 0) {
        EXPECT_LT(runs[i - 1].end, runs[i].first);  // maximal: a gap between runs
      }
      for (std::int64_t c = runs[i].first; c < runs[i].end; ++c) {
        EXPECT_EQ(owner[static_cast<std::size_t>(c)], -1) << "circuit " << c;
        owner[static_cast<std::size_t>(c)] = r;
      }
    }
  }
  EXPECT_EQ(std::count(owner.begin(), owner.end(), -1), 0);
}

TEST(Partition, StripsContiguousCompleteAndBalanced) {
  const Config c = seqlearn::make_config({{"run.partition", "strips"}});
  for (int ranks : {1, 2, 3, 4, 7, 50, 64}) {
    const Network net(c, ranks);
    int empty = 0;
    expect_complete(net, ranks, empty);
    for (int r = 0; r < ranks; ++r) EXPECT_LE(net.circuits_of_rank(r).size(), 1u);
    if (ranks > net.n_circuits()) {
      EXPECT_GE(empty, ranks - net.n_circuits());
    }
    if (ranks <= 4) {
      EXPECT_EQ(empty, 0);
    }
  }
  // Balance: each rank's neuron count within one largest circuit-share of the mean (2 ranks).
  const Network net(c, 2);
  const CircuitRun r0 = net.circuits_of_rank(0).at(0);
  const double n0 = static_cast<double>(net.first_neuron(r0.end) - net.first_neuron(r0.first));
  EXPECT_NEAR(n0 / static_cast<double>(net.n_neurons()), 0.5, 0.1);
}

// The factorisations worked by hand: tiles as square as the grid allows; of two as square, more
// bands.
TEST(Partition, TileGridNearestToSquares) {
  using seqlearn::Partition;
  EXPECT_EQ(Partition::tile_grid(256, 256, 64), std::make_pair(8, 8));
  EXPECT_EQ(Partition::tile_grid(256, 256, 32), std::make_pair(8, 4));  // 32x64 or 64x32
  EXPECT_EQ(Partition::tile_grid(10, 5, 2), std::make_pair(2, 1));      // 5x5 tiles
  EXPECT_EQ(Partition::tile_grid(10, 5, 4), std::make_pair(4, 1));      // 2.5x5 or 5x2.5
  EXPECT_EQ(Partition::tile_grid(100, 50, 7), std::make_pair(7, 1));    // a prime: bands of rows
  EXPECT_EQ(Partition::tile_grid(3, 100, 16), std::make_pair(1, 16));   // 3 rows: one band
  EXPECT_EQ(Partition::tile_grid(2, 1, 3), std::make_pair(3, 1));  // nothing fits: the squarest
}

// A 4x4 grid of equal circuits on 4 ranks: 2x2 tiles of 2x2 circuits, each two runs of two.
TEST(Partition, TilesOfAnEvenGridWorkedByHand) {
  const Config c = seqlearn::make_config({{"network.grid", "4x4"},
                                          {"network.connectivity", "fixed_indegree"},
                                          {"network.wta_indegree", "3"},
                                          {"network.k_min", "5"},
                                          {"network.k_max", "5"},
                                          {"run.partition", "tiles"}});
  const Network net(c, 4);
  EXPECT_EQ(net.partition().shape(), PartitionShape::tiles);
  EXPECT_EQ(net.circuits_of_rank(0), (std::vector<CircuitRun>{{0, 2}, {4, 6}}));
  EXPECT_EQ(net.circuits_of_rank(1), (std::vector<CircuitRun>{{2, 4}, {6, 8}}));
  EXPECT_EQ(net.circuits_of_rank(2), (std::vector<CircuitRun>{{8, 10}, {12, 14}}));
  EXPECT_EQ(net.circuits_of_rank(3), (std::vector<CircuitRun>{{10, 12}, {14, 16}}));
  // One band: tiles of whole rows merge into one run per rank.
  const Network two(c, 2);
  EXPECT_EQ(two.partition().bands(), 2);
  EXPECT_EQ(two.circuits_of_rank(0), (std::vector<CircuitRun>{{0, 8}}));
}

// Bands are cut at any circuit, as strips are, and so are a band's column ranges, in column-major
// order. On a 3x4 grid of equal circuits 4 ranks get 2x2 tiles. The bands are [0, 6) and [6, 12),
// each ending or starting in the middle of row 1. Band 0 holds rows 0-1; column-major (column
// 0 row 0, column 0 row 1, column 1 row 0, ...) its work is 1 1 1 1 1 0 1 0 (row 1 ends at
// column 1), cut at the midpoints into positions [0, 3) | [3, 8): range 0 has column 0 and the
// top of column 1, i.e. row 0 columns 0-1 and row 1 column 0. Band 1 holds rows 1-2 with work
// 0 1 0 1 1 1 1 1, cut [0, 5) | [5, 8): range 0 has columns 0-1 and the top of column 2, i.e. row
// 1 column 2 (its only circuits there are columns 2-3) and row 2 columns 0-1. Three circuits per
// rank (whole columns gave 2, 4, 2, 4). Within each row the owners ascend with the columns.
TEST(Partition, TilesCutBandsMidRow) {
  const Config c = seqlearn::make_config({{"network.grid", "3x4"},
                                          {"network.connectivity", "fixed_indegree"},
                                          {"network.wta_indegree", "3"},
                                          {"network.k_min", "4"},
                                          {"network.k_max", "4"},
                                          {"run.partition", "tiles"}});
  const Network net(c, 4);
  EXPECT_EQ(net.partition().bands(), 2);
  EXPECT_EQ(net.circuits_of_rank(0), (std::vector<CircuitRun>{{0, 2}, {4, 5}}));
  EXPECT_EQ(net.circuits_of_rank(1), (std::vector<CircuitRun>{{2, 4}, {5, 6}}));
  EXPECT_EQ(net.circuits_of_rank(2), (std::vector<CircuitRun>{{6, 7}, {8, 10}}));
  EXPECT_EQ(net.circuits_of_rank(3), (std::vector<CircuitRun>{{7, 8}, {10, 12}}));
}

TEST(Partition, TilesCompleteAndBalancedAndSmallerHalo) {
  const Config c = seqlearn::make_config({{"network.grid", "48x48"},
                                          {"network.connectivity", "fixed_indegree"},
                                          {"network.boundary", "periodic"},
                                          {"run.partition", "tiles"}});
  for (int ranks : {1, 2, 6, 16, 17, 64}) {
    const Network net(c, ranks);
    int empty = 0;
    expect_complete(net, ranks, empty);
    EXPECT_EQ(empty, 0);
    EXPECT_EQ(net.partition().bands() * net.partition().columns(), ranks);
    // Work is proportional to neurons here (fixed in-degree). A band is within one circuit's
    // work of its share, a band's range within one circuit of its share of the band: a rank is
    // within two of the mean (with whole columns: a column of circuits).
    double most = 0;
    for (int r = 0; r < ranks; ++r) {
      double neurons = 0;
      for (const CircuitRun& run : net.circuits_of_rank(r))
        neurons += static_cast<double>(net.first_neuron(run.end) - net.first_neuron(run.first));
      most = std::max(most, neurons);
    }
    const double mean = static_cast<double>(net.n_neurons()) / ranks;
    EXPECT_LE(most, mean + 2.0 * c.k_max) << ranks << " ranks";
  }
  // At 16 ranks, 4x4 tiles of 12x12 circuits listen to fewer sources than strips of 3 rows.
  const Network tiles(c, 16);
  Config strips_config = c;
  strips_config.partition = PartitionChoice::strips;
  const Network strips(strips_config, 16);
  std::uint64_t tiles_halo = 0, strips_halo = 0;
  for (int r = 0; r < 16; ++r) {
    tiles_halo += tiles.needed_neurons(tiles.circuits_of_rank(r));
    strips_halo += strips.needed_neurons(strips.circuits_of_rank(r));
  }
  EXPECT_LT(tiles_halo, strips_halo);
  EXPECT_GT(tiles_halo, tiles.n_neurons());
}

// Tiles on many grids, rank counts and uneven work (a fixed pseudo-random sequence): every
// circuit has exactly one owner; a rank's runs ascend; along every grid row the owners never
// descend (receive_exchange relies on it for the order of arrivals); and a rank's work is within
// two circuits' of the mean (a band within one circuit of its share, a range within one of the
// band's: partition.cpp).
TEST(Partition, TilesCoverOnceAscendAlongRowsAndBalanceOnAnyGrid) {
  std::uint64_t state = 12345;
  auto next = [&state] {  // a linear congruential sequence: the same cases on every machine
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (int trial = 0; trial < 300; ++trial) {
    const int rows = 1 + static_cast<int>(next() % 40);
    const int cols = 1 + static_cast<int>(next() % 40);
    const int ranks = 1 + static_cast<int>(next() % 70);
    std::vector<double> work(static_cast<std::size_t>(rows * cols));
    double total = 0, largest = 0;
    for (double& w : work) {
      w = 1.0 + static_cast<double>(next() % 1000) / 100.0;  // 1 to 11: uneven circuits
      total += w;
      largest = std::max(largest, w);
    }
    const auto p = seqlearn::Partition::tiles(work, rows, cols, ranks);
    const std::string where = std::to_string(rows) + "x" + std::to_string(cols) + " on " +
                              std::to_string(ranks) + " ranks (" + std::to_string(p.bands()) + "x" +
                              std::to_string(p.columns()) + ")";
    ASSERT_EQ(p.bands() * p.columns(), ranks) << where;
    std::vector<int> owner(work.size(), -1);
    for (int r = 0; r < ranks; ++r) {
      double share = 0;
      std::int64_t previous_end = -1;
      for (const CircuitRun& run : p.runs_of(r)) {
        ASSERT_LT(previous_end, run.first) << where << ", rank " << r;
        ASSERT_LT(run.first, run.end) << where << ", rank " << r;
        previous_end = run.end;
        for (std::int64_t c = run.first; c < run.end; ++c) {
          ASSERT_EQ(owner[static_cast<std::size_t>(c)], -1) << where << ": circuit " << c;
          owner[static_cast<std::size_t>(c)] = r;
          share += work[static_cast<std::size_t>(c)];
        }
      }
      EXPECT_LE(share, total / ranks + 2 * largest + 1e-9) << where << ", rank " << r;
    }
    for (int row = 0; row < rows; ++row)
      for (int col = 0; col < cols; ++col) {
        const auto c = static_cast<std::size_t>(row * cols + col);
        ASSERT_NE(owner[c], -1) << where << ": circuit " << c << " has no owner";
        if (col > 0) {
          ASSERT_LE(owner[c - 1], owner[c]) << where << ": row " << row;
        }
      }
  }
}

TEST(StpParameters, DistributionsAndInputs) {
  const Config c = seqlearn::make_config(
      {{"network.grid", "100x100"}, {"network.connectivity", "fixed_indegree"}});
  const Network net(c, 1);
  const auto input = net.stp_parameters(5);
  EXPECT_EQ(input.U, 1.0);
  EXPECT_EQ(input.D_s, 1e-3);
  EXPECT_EQ(input.F_s, 1e-3);
  double U = 0, U2 = 0, D = 0, F = 0;
  const int n = 20000;
  for (int j = 0; j < n; ++j) {
    const auto p = net.stp_parameters(100 + static_cast<std::uint64_t>(j));
    EXPECT_GE(p.U, 0.0);
    EXPECT_GE(p.D_s, 1e-3);
    EXPECT_GE(p.F_s, 1e-3);
    U += p.U;
    U2 += p.U * p.U;
    D += p.D_s;
    F += p.F_s;
  }
  U /= n;
  // N(0.5, 0.25^2) clipped at 0 moves the mean up by about 0.25 * phi(2) - ... = +0.0021.
  EXPECT_NEAR(U, 0.502, 0.01);
  EXPECT_NEAR(std::sqrt(U2 / n - U * U), 0.25, 0.01);
  EXPECT_NEAR(D / n, 0.110, 0.003);
  EXPECT_NEAR(F / n, 0.005, 0.0002);
}
