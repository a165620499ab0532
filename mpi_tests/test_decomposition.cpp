// docs/design.md principle 1: the same seed gives bit-identical spikes, weights and traces for any
// number of ranks and threads. Each test runs a learning simulation distributed over all
// ranks of the job, gathers the result, and compares it bit for bit with the same run done
// by one process alone (a local communicator on rank 0). CTest runs this binary at np = 1,
// 2, 3 and 4.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/simulator.hpp"

using seqlearn::Communicator;
using seqlearn::Config;
using seqlearn::Simulator;

namespace {

// A run's observable result, in a canonical order.
struct Outcome {
  std::vector<std::tuple<std::uint64_t, std::int64_t>> spikes;     // (neuron, step)
  std::vector<std::uint64_t> weight_bits, mean_bits, second_bits;  // per synapse, row order
  std::vector<std::uint64_t> sources, targets;
  std::vector<std::uint64_t> trace_bits;  // u, p of traced neurons, by neuron then time
  std::vector<std::int32_t> pattern_id;
};

std::vector<std::uint64_t> bits(const std::vector<double>& values) {
  std::vector<std::uint64_t> out(values.size());
  std::transform(values.begin(), values.end(), out.begin(),
                 [](double v) { return std::bit_cast<std::uint64_t>(v); });
  return out;
}

Outcome gather(const Simulator& sim, Communicator& comm) {
  Outcome o;
  const auto& rec = sim.record();
  std::vector<std::uint64_t> local_spikes;
  for (std::size_t i = 0; i < rec.spike_step.size(); ++i) {
    local_spikes.push_back(rec.spike_neuron[i]);
    local_spikes.push_back(static_cast<std::uint64_t>(rec.spike_step[i]));
  }
  const auto all = comm.all_gather(local_spikes);
  for (std::size_t i = 0; i < all.size(); i += 2)
    o.spikes.emplace_back(all[i], static_cast<std::int64_t>(all[i + 1]));
  std::sort(o.spikes.begin(), o.spikes.end());
  // Rows in global order: each rank's rows are whole and ascending, but tiles interleave the
  // ranks' neurons, so the concatenation is sorted by target, stably (a row keeps its order).
  o.targets = comm.all_gather(sim.synapse_targets());
  std::vector<std::size_t> order(o.targets.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return o.targets[a] < o.targets[b]; });
  auto in_row_order = [&](const std::vector<std::uint64_t>& all) {
    std::vector<std::uint64_t> sorted;
    for (const std::size_t i : order) sorted.push_back(all[i]);
    return sorted;
  };
  o.targets = in_row_order(o.targets);
  o.weight_bits = in_row_order(comm.all_gather(bits(sim.weights())));
  o.mean_bits = in_row_order(comm.all_gather(bits(sim.variance_tracking_mean())));
  o.second_bits = in_row_order(comm.all_gather(bits(sim.variance_tracking_second_moment())));
  o.sources = in_row_order(comm.all_gather(sim.synapse_sources()));
  // Traces: [T][n_local] per rank; regrouped per neuron (a record of its id and its values),
  // then the records sorted by neuron.
  const std::size_t n_local = rec.trace_neurons.size();
  const std::size_t record = 1 + 3 * rec.trace_steps.size();
  std::vector<std::uint64_t> per_neuron;
  for (std::size_t k = 0; k < n_local; ++k) {
    per_neuron.push_back(rec.trace_neurons[k]);
    for (std::size_t t = 0; t < rec.trace_steps.size(); ++t) {
      per_neuron.push_back(std::bit_cast<std::uint64_t>(rec.trace("u")[t * n_local + k]));
      per_neuron.push_back(std::bit_cast<std::uint64_t>(rec.trace("p")[t * n_local + k]));
      per_neuron.push_back(std::bit_cast<std::uint64_t>(rec.trace("readout")[t * n_local + k]));
    }
  }
  const std::vector<std::uint64_t> all_traces = comm.all_gather(per_neuron);
  std::vector<std::vector<std::uint64_t>> records;
  for (std::size_t i = 0; i < all_traces.size(); i += record)
    records.emplace_back(all_traces.begin() + static_cast<std::ptrdiff_t>(i),
                         all_traces.begin() + static_cast<std::ptrdiff_t>(i + record));
  std::sort(records.begin(), records.end());
  for (const auto& r : records) o.trace_bits.insert(o.trace_bits.end(), r.begin(), r.end());
  o.pattern_id = rec.label("pattern_id");  // rank 0's
  return o;
}

// Runs `overrides` distributed (with `threads`) and alone; true on every rank iff identical.
void expect_decomposition_independent(std::vector<std::pair<std::string, std::string>> overrides,
                                      int threads) {
  auto comm = seqlearn::make_mpi_communicator();
  auto distributed_overrides = overrides;
  distributed_overrides.emplace_back("run.threads", std::to_string(threads));
  const Config distributed_config = seqlearn::make_config(distributed_overrides);
  Simulator distributed(distributed_config, *comm,
                        seqlearn::load_simulator_inputs(distributed_config));
  distributed.run();
  const Outcome got = gather(distributed, *comm);

  double failures = 0;
  if (comm->rank() == 0) {
    overrides.emplace_back("run.threads", std::to_string(1));
    auto alone = seqlearn::make_local_communicator();
    Simulator serial(seqlearn::make_config(overrides), *alone,
                     seqlearn::load_simulator_inputs(seqlearn::make_config(overrides)));
    serial.run();
    const Outcome want = gather(serial, *alone);
    EXPECT_GT(want.spikes.size(), 100u);
    EXPECT_TRUE(got.spikes == want.spikes)
        << got.spikes.size() << " vs " << want.spikes.size() << " spikes";
    EXPECT_TRUE(got.weight_bits == want.weight_bits) << "final weights differ";
    EXPECT_TRUE(got.mean_bits == want.mean_bits) << "variance-tracking means differ";
    EXPECT_TRUE(got.second_bits == want.second_bits) << "variance-tracking second moments differ";
    EXPECT_TRUE(got.sources == want.sources && got.targets == want.targets)
        << "synapse lists differ";
    EXPECT_TRUE(got.trace_bits == want.trace_bits) << "u/p/readout traces differ";
    EXPECT_TRUE(got.pattern_id == want.pattern_id) << "input labels differ";
    // Learning must have happened for the comparison to mean something.
    std::size_t moved = 0;
    for (auto w : want.weight_bits) moved += w != 0;
    EXPECT_GT(moved, want.weight_bits.size() / 2);
    failures = testing::Test::HasFailure() ? 1 : 0;
  }
  // Every rank fails if rank 0 found a difference.
  EXPECT_EQ(comm->max(failures), 0.0) << "rank " << comm->rank() << ": rank 0 found differences";
}

}  // namespace

TEST(Decomposition, DefaultGridLearningThenTest) {
  expect_decomposition_independent({{"run.protocol", "train:3000,test:1000"},
                                    {"record.neurons", "random:30"},
                                    {"record.dt_rec", "50"}},
                                   1);
}

TEST(Decomposition, TwoThreadsPerRank) {
  expect_decomposition_independent(
      {{"run.protocol", "train:2000,test:500"}, {"record.dt_rec", "100"}}, 2);
}

TEST(Decomposition, FixedIndegreeWithDelayAndTwoPatterns) {
  expect_decomposition_independent({{"network.grid", "8x8"},
                                    {"network.connectivity", "fixed_indegree"},
                                    {"network.boundary", "periodic"},
                                    {"network.wta_indegree", "10"},
                                    {"network.delay", "3"},
                                    {"network.n_inputs", "40"},
                                    {"input.n_patterns", "2"},
                                    {"input.pattern_sequences", "0;1"},
                                    {"input.time_warp_range", "0.8,1.5"},
                                    {"network.initial_weights", "log_uniform"},
                                    {"run.protocol", "train:2000,test:1000"},
                                    {"record.neurons", "all"},
                                    {"record.dt_rec", "200"}},
                                   1);
}

// Above 8 MiB of weights a rank delivers spikes circuit by circuit (deliver_by_circuit); this
// grid (1.3 million synapses, 10.7 MiB) does so on one rank, while each rank's share of it
// falls below the threshold and is delivered arrival by arrival: both orders must agree.
TEST(Decomposition, LargeGridDeliveredByCircuitOnOneRank) {
  expect_decomposition_independent({{"network.grid", "32x32"},
                                    {"network.connectivity", "fixed_indegree"},
                                    {"network.boundary", "periodic"},
                                    {"network.wta_indegree", "20"},
                                    {"network.delay", "2"},
                                    {"network.initial_weights", "log_uniform"},
                                    {"run.protocol", "train:300,test:100"},
                                    {"record.dt_rec", "50"}},
                                   1);
}

// Two threads on a grid whose ranks need more sources than Simulator::kSharedSourcesMin (4096)
// at np = 1 (the team shares M1/M6 of the sources out) and fewer at np = 4 (every thread
// advances all of them on its own copy of the traces): both agree with one thread.
TEST(Decomposition, TwoThreadsShareOrCopyTheSourcesTraces) {
  expect_decomposition_independent({{"network.grid", "32x32"},
                                    {"network.connectivity", "fixed_indegree"},
                                    {"network.boundary", "periodic"},
                                    {"network.wta_indegree", "20"},
                                    {"network.initial_weights", "log_uniform"},
                                    {"run.protocol", "train:300,test:100"},
                                    {"record.dt_rec", "50"}},
                                   2);
}

// docs/model.md 11.1: pruned synapses and untrained circuits are drawn from global ids, so every
// decomposition builds the same network; per-neuron rows deliver in the same order.
TEST(Decomposition, PrunedSynapsesAndUntrainedCircuits) {
  expect_decomposition_independent({{"network.grid", "6x5"},
                                    {"network.p_conn", "0.3"},
                                    {"network.train_fraction", "0.5"},
                                    {"run.protocol", "train:2000,test:1000"},
                                    {"record.neurons", "all"},
                                    {"record.dt_rec", "50"}},
                                   1);
}

TEST(Decomposition, PrunedSynapsesTwoThreadsWithDelay) {
  expect_decomposition_independent({{"network.grid", "6x5"},
                                    {"network.p_conn", "0.3"},
                                    {"network.train_fraction", "0.5"},
                                    {"network.delay", "2"},
                                    {"run.protocol", "train:2000,test:500"},
                                    {"record.dt_rec", "100"}},
                                   2);
}

// run.exchange (docs/scaling.md): spikes sent only to the ranks that listen to their circuit
// (a local grid, so that most ranks need few circuits) arrive in the same order as when every
// rank gets every spike, whatever the interval (delay 3: a sort by step) and the threads; the
// reference runs alone with the allgather.
TEST(Decomposition, DirectedExchangeWithDelay) {
  const std::vector<std::pair<std::string, std::string>> local_grid = {
      {"network.grid", "12x8"},
      {"network.connectivity", "fixed_indegree"},
      {"network.wta_indegree", "6"},
      {"network.lambda", "0.8"},
      {"network.delay", "3"},
      {"network.n_inputs", "30"},
      {"run.protocol", "train:1500,test:300"},
      {"record.dt_rec", "100"}};
  for (const char* mode : {"directed", "allgather"}) {
    for (const char* shape : {"strips", "tiles"}) {
      SCOPED_TRACE(std::string(mode) + ", " + shape);
      auto overrides = local_grid;
      overrides.emplace_back("run.exchange", mode);
      overrides.emplace_back("run.partition", shape);
      expect_decomposition_independent(overrides, 1);
    }
  }
  // The test means something: on 3 or more ranks most circuits have fewer listeners than ranks.
  auto comm = seqlearn::make_mpi_communicator();
  auto overrides = local_grid;
  overrides.emplace_back("run.exchange", "directed");
  const Simulator sim(seqlearn::make_config(overrides), *comm);
  EXPECT_EQ(sim.spike_exchange().mode(), seqlearn::ExchangeMode::directed);
  if (comm->size() >= 3) {
    EXPECT_LT(sim.spike_exchange().routes().mean_listeners, comm->size() - 0.5);
  }
  // The benchmark's bytes count what reaches other ranks in either mode (hostile test: the
  // all-gather counted its slot once, the directed exchange every copy and its own), so that
  // the two compare: nothing on one rank, fewer bytes when spikes go only to their listeners.
  std::uint64_t bytes[2] = {0, 0};
  for (int directed = 0; directed < 2; ++directed) {
    auto fresh = seqlearn::make_mpi_communicator();
    auto run_overrides = local_grid;
    run_overrides.emplace_back("run.exchange", directed ? "directed" : "allgather");
    Simulator run(seqlearn::make_config(run_overrides), *fresh);
    run.run();
    bytes[directed] = fresh->sum(fresh->bytes_sent());
  }
  if (comm->size() == 1) {
    EXPECT_EQ(bytes[0], 0u);
    EXPECT_EQ(bytes[1], 0u);
  } else if (comm->size() >= 3) {
    EXPECT_LT(bytes[1], bytes[0]);
  }
}

TEST(Decomposition, DirectedExchangeTwoThreadsPrunedSynapses) {
  expect_decomposition_independent({{"network.grid", "10x6"},
                                    {"network.p_conn", "0.5"},
                                    {"network.n_conn", "120"},
                                    {"run.exchange", "directed"},
                                    {"run.protocol", "train:1500,test:300"},
                                    {"record.dt_rec", "100"}},
                                   2);
}

// Tiles (run.partition, docs/scaling.md): a rank owns a rectangle of the grid, one run of circuit
// ids per grid row, so its neurons are not one range and the ranks' spikes interleave in id
// order. Pruned synapses (per-neuron rows), untrained circuits, two threads (a thread's circuits
// span rows), delay 2, all traced; and auto takes the shape with the smaller halo.
TEST(Decomposition, TilesWithPrunedSynapsesTwoThreadsAndDelay) {
  const std::vector<std::pair<std::string, std::string>> grid = {
      {"network.grid", "9x10"},
      {"network.connectivity", "fixed_indegree"},
      {"network.wta_indegree", "5"},
      {"network.lambda", "0.6"},
      {"network.p_conn", "0.6"},
      {"network.train_fraction", "0.7"},
      {"network.delay", "2"},
      {"network.n_inputs", "30"},
      {"run.protocol", "train:1200,test:300"},
      {"record.neurons", "all"},
      {"record.dt_rec", "150"}};
  auto tiles = grid;
  tiles.emplace_back("run.partition", "tiles");
  expect_decomposition_independent(tiles, 2);
  auto comm = seqlearn::make_mpi_communicator();
  const Simulator sim(seqlearn::make_config(grid), *comm);  // run.partition = auto
  std::uint64_t halo[2] = {0, 0};
  for (const char* shape : {"strips", "tiles"}) {
    auto shaped = grid;
    shaped.emplace_back("run.partition", shape);
    const seqlearn::Network network(seqlearn::make_config(shaped), comm->size());
    for (int r = 0; r < comm->size(); ++r)
      halo[shape[0] == 't'] += network.needed_neurons(network.circuits_of_rank(r));
  }
  EXPECT_EQ(sim.network().partition().shape() == seqlearn::PartitionShape::tiles, halo[1] < halo[0])
      << "halo: strips " << halo[0] << ", tiles " << halo[1];
  if (comm->size() == 4) {
    EXPECT_LT(halo[1], halo[0]);  // 2x2 tiles of 4-5 x 5 circuits against strips of 2-3 rows
  }
}

// More ranks than circuits: some ranks own nothing and must still take part.
TEST(Decomposition, MoreRanksThanCircuits) {
  expect_decomposition_independent({{"network.grid", "1x2"},
                                    {"network.n_inputs", "10"},
                                    {"run.protocol", "train:3000"},
                                    {"record.neurons", "all"}},
                                   1);
}

// The xor task between pattern phases (docs/model.md 11.2): its frozen patterns, switching
// draws and overlay are the same on every rank, so the labels (both streams) and the network
// are too.
TEST(Decomposition, XorPhasesBetweenPatternPhases) {
  expect_decomposition_independent(
      {{"network.grid", "5x5"},
       {"run.protocol", "train:1000,test:700:xor,train:800:xor,test:300"},
       {"input.p_switch", "0.3"},
       {"record.dt_rec", "100"}},
      2);
}

// The file task: every rank reads input.file and replays it (cyclically here).
TEST(Decomposition, FileTask) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = testing::TempDir() + "/seqlearn_decomposition_np" +
                           std::to_string(comm->size()) + "_input.csv";
  if (comm->rank() == 0) {
    std::ofstream file(path);
    file << "step,channel\n";
    for (int step = 0; step < 400; ++step)
      for (int channel = 0; channel < 100; ++channel)
        if ((step * 7 + channel * 13) % 97 == 0) file << step << "," << channel << "\n";
  }
  comm->barrier();
  expect_decomposition_independent({{"run.protocol", "train:1500,test:500"},
                                    {"input.task", "file"},
                                    {"input.file", path},
                                    {"record.dt_rec", "100"}},
                                   1);
}
