// The simulator's parts, each alone (simulator.hpp): the balanced partition, the local
// domain, the thread team, the spike exchange and the recorder.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <numeric>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/input_task.hpp"
#include "seqlearn/local_domain.hpp"
#include "seqlearn/partition.hpp"
#include "seqlearn/recorder.hpp"
#include "seqlearn/simulator.hpp"
#include "seqlearn/spike_exchange.hpp"
#include "seqlearn/thread_team.hpp"

namespace seqlearn {
namespace {

TEST(BalancedPartition, MidpointRuleByHand) {
  // Work 1,1,1,1 in 2 parts: midpoints 0.5, 1.5 | 2.5, 3.5 of 4 -> {0, 2, 4}.
  EXPECT_EQ(balanced_partition({1, 1, 1, 1}, 2), (std::vector<std::int64_t>{0, 2, 4}));
  // A heavy item goes where its midpoint falls: 1, 6, 1 (total 8) in 2 parts: midpoints 0.5,
  // 4 (= half: the second part), 7.5 -> {0, 1, 3}.
  EXPECT_EQ(balanced_partition({1, 6, 1}, 2), (std::vector<std::int64_t>{0, 1, 3}));
  // More parts than items: midpoints 2.5 and 7.5 of 10 fall in parts 1 and 3; parts 0 and 2
  // stay empty, and no share runs out of range.
  EXPECT_EQ(balanced_partition({5, 5}, 4), (std::vector<std::int64_t>{0, 0, 1, 1, 2}));
  EXPECT_EQ(balanced_partition({3}, 1), (std::vector<std::int64_t>{0, 1}));
}

TEST(LocalDomain, RanksCoverTheNetworkOnceAndAgreeWithIt) {
  for (const char* shape : {"strips", "tiles"}) {
    SCOPED_TRACE(shape);
    const Config config = make_config(
        {{"network.grid", "7x5"}, {"network.train_fraction", "0.5"}, {"run.partition", shape}});
    const int n_ranks = 4;
    const Network network(config, n_ranks);
    std::vector<int> owner(network.n_neurons(), -1);
    for (int rank = 0; rank < n_ranks; ++rank) {
      const LocalDomain domain(network, rank);
      bool all = true;
      for (std::int64_t b = 0; b < domain.n_circuits(); ++b) {
        const std::int64_t c = domain.global_circuit(b);
        if (b > 0) {
          EXPECT_LT(domain.global_circuit(b - 1), c);  // ascending
        }
        EXPECT_EQ(domain.circuit_size(b), network.circuit_size(c));
        EXPECT_EQ(domain.global_neuron(domain.first_neuron(b)), network.first_neuron(c));
        EXPECT_EQ(domain.circuit_trained()[static_cast<std::size_t>(b)],
                  network.circuit_trained(c));
        all = all && network.circuit_trained(c);
        for (std::uint64_t k = domain.first_neuron(b); k < domain.first_neuron(b + 1); ++k) {
          EXPECT_EQ(domain.circuit_of_neuron(k), b);
          EXPECT_EQ(domain.neuron_trained(k), network.circuit_trained(c));
          const std::uint64_t g = domain.global_neuron(k);
          EXPECT_EQ(domain.local_neuron(g), k);
          EXPECT_EQ(owner[g], -1);
          owner[g] = rank;
        }
      }
      EXPECT_EQ(domain.all_trained(), all);
      // The runs and the slices of a sequence in global order agree with the circuits.
      const Slices neurons = domain.neuron_slices(network.n_neurons(), 3);
      EXPECT_EQ(neurons.local(), domain.n_neurons());
      std::uint64_t k = 0;
      for (const LocalDomain::Run& run : domain.runs()) {
        EXPECT_EQ(run.local_neuron, k);
        EXPECT_EQ(domain.global_neuron(k), run.first_neuron);
        k += run.n_neurons();
      }
      std::uint64_t covered = 0;
      domain.for_each_neuron_run(
          0, domain.n_circuits(), [&](std::uint64_t g, std::uint64_t local, std::uint64_t count) {
            EXPECT_EQ(domain.global_neuron(local), g);
            EXPECT_EQ(domain.global_neuron(local + count - 1), g + count - 1);
            covered += count;
          });
      EXPECT_EQ(covered, domain.n_neurons());
    }
    for (std::uint64_t g = 0; g < network.n_neurons(); ++g) {
      ASSERT_NE(owner[g], -1) << "neuron " << g << " has no owner";
      EXPECT_FALSE(LocalDomain(network, (owner[g] + 1) % n_ranks).owns_neuron(g));
    }
  }
}

// Pieces laid out by key: one rank's keys and counts, worked by hand.
TEST(Slices, InKeyOrder) {
  auto comm = make_local_communicator();
  const Slices slices = slices_in_key_order(*comm, {3, 7, 9}, {2, 0, 5});
  EXPECT_EQ(slices.offsets, (std::vector<std::uint64_t>{0, 2, 2}));
  EXPECT_EQ(slices.counts, (std::vector<std::uint64_t>{2, 0, 5}));
  EXPECT_EQ(slices.total, 7u);
  EXPECT_EQ(slices.local(), 7u);
}

TEST(ThreadTeam, CircuitsSplitByWorkAndSlotsSizedToThem) {
  // 6 circuits of 2 neurons each; the first three carry most of the work.
  const std::vector<double> work{10, 10, 10, 1, 1, 1};
  const std::vector<std::uint64_t> first_neuron{0, 2, 4, 6, 8, 10, 12};
  ThreadTeam team({.threads = 2, .why = "test"}, CoreShare{}, work, first_neuron, 100);
  ASSERT_EQ(team.size(), 2);
  // Total 33, midpoints 5, 15, 25 (< 16.5: thread 0 for the first two), 30.5...
  EXPECT_EQ(team.circuit_begin(0), 0);
  EXPECT_EQ(team.circuit_begin(1), 2);
  EXPECT_EQ(team.circuit_begin(2), 6);
  EXPECT_EQ(team.slot(0).uniforms.size(), 4u);
  EXPECT_EQ(team.slot(1).uniforms.size(), 8u);
  // Few sources: every thread advances them all, on its own copy.
  EXPECT_FALSE(team.shares_sources());
  ThreadTeam shared({.threads = 2, .why = "test"}, CoreShare{}, work, first_neuron,
                    ThreadTeam::kSharedSourcesMin);
  EXPECT_TRUE(shared.shares_sources());
  // run() hands every thread its id, once.
  std::vector<int> seen(2, 0);
  std::exception_ptr failure;
  team.run(failure, [&](std::size_t t) {
#pragma omp atomic
    ++seen[t];
  });
  EXPECT_FALSE(failure);
  EXPECT_EQ(seen, (std::vector<int>{1, 1}));
}

TEST(SpikeExchange, SpikesInStepOrderControlWordsAndDivergence) {
  auto comm = make_local_communicator();
  SpikeExchange exchange(*comm, ExchangeRoutes::everything(16), ExchangeMode::allgather);
  exchange.post_spike(1, 7, 2, 7.5);
  exchange.post_spike(0, 9, 0, 9.5);
  double wall = 0, cpu = 0;
  const ReceivedExchange& received = exchange.exchange(2, wall, cpu);
  ASSERT_EQ(received.spikes.size(), 2u);
  EXPECT_EQ(received.spikes[0].step_offset(), 0);
  EXPECT_EQ(received.spikes[0].circuit(), 9u);
  EXPECT_EQ(received.spikes[1].step_offset(), 1);
  EXPECT_EQ(received.spikes[1].position(), 2u);
  EXPECT_EQ(received.spikes[1].amplitude, 7.5);  // the owner's R*u travels with its spike
  EXPECT_FALSE(exchange.stop_agreed());
  EXPECT_EQ(cpu, 0.0);  // one rank: nothing waits, nothing is excluded from compute
  // Posted words are sent once.
  EXPECT_TRUE(exchange.exchange(1, wall, cpu).spikes.empty());

  exchange.request_stop();
  EXPECT_FALSE(exchange.stop_agreed());  // only once the exchange carried it
  exchange.exchange(1, wall, cpu);
  EXPECT_TRUE(exchange.stop_agreed());

  // The earliest divergence wins (then the lowest neuron), reported at the next exchange.
  exchange.note_divergence(12, 5);
  exchange.note_divergence(10, 8);
  exchange.note_divergence(10, 3);
  try {
    exchange.exchange(1, wall, cpu);
    FAIL() << "no DivergenceError";
  } catch (const DivergenceError& e) {
    EXPECT_NE(std::string(e.what()).find("at step 10: neuron 3 "), std::string::npos) << e.what();
  }
}

// A rank keeps the spikes of the circuits it needs and every control word, in step order, then
// in the order the ranks sent them; the directed mode delivers the same words.
TEST(SpikeExchange, KeepsTheNeededCircuitsInBothModes) {
  auto comm = make_local_communicator();
  const std::vector<std::uint32_t> needed = {2, 3, 9};
  for (const ExchangeMode mode : {ExchangeMode::allgather, ExchangeMode::directed}) {
    SCOPED_TRACE(to_string(mode));
    const std::vector<CircuitRun> owned{{0, 12}};
    ExchangeRoutes routes = find_listeners(*comm, 12, GridRows(3, 4), owned, needed);
    EXPECT_EQ(routes.listeners.size(), 3u);  // one rank, listening to three of its circuits
    EXPECT_DOUBLE_EQ(routes.mean_listeners, 3.0 / 12.0);
    EXPECT_EQ(routes.listeners_of(9).size(), 1u);
    EXPECT_TRUE(routes.listeners_of(4).empty());
    SpikeExchange exchange(*comm, std::move(routes), mode);
    EXPECT_EQ(exchange.mode(), mode);
    exchange.post_spike(0, 4, 0, 4.5);  // not needed
    exchange.post_spike(0, 9, 1, 9.5);
    exchange.post_spike(1, 2, 0, 2.5);
    exchange.post_spike(1, 11, 3, 11.5);  // not needed
    exchange.post_spike(2, 3, 5, 3.5);
    exchange.request_stop();
    double wall = 0, cpu = 0;
    const ReceivedExchange& received = exchange.exchange(3, wall, cpu);
    ASSERT_EQ(received.spikes.size(), 3u);
    EXPECT_EQ(received.spikes[0].circuit(), 9u);
    EXPECT_EQ(received.spikes[1].circuit(), 2u);
    EXPECT_EQ(received.spikes[2].circuit(), 3u);
    EXPECT_EQ(received.spikes[2].step_offset(), 2);
    EXPECT_EQ(received.spikes[2].amplitude, 3.5);
    EXPECT_TRUE(exchange.stop_agreed());  // control words reach every rank in both modes
    // Allgather: every word arrives and is walked; directed: only those sent here (and the stop).
    EXPECT_EQ(exchange.received_words(), mode == ExchangeMode::allgather ? 6u : 4u);
  }
}

// The filter takes no branch per word: the circuit field of a control word's payload may name
// any circuit, or none the network has, and the word is still kept whole.
TEST(ExchangeWord, FilterKeepsControlWordsWhateverTheirPayload) {
  using Kind = ExchangeWord::Kind;
  const CircuitSet needed(100, std::vector<std::uint32_t>{5});
  EXPECT_TRUE(needed.contains(5));
  EXPECT_FALSE(needed.contains(6));
  EXPECT_EQ(needed.size(), 1u);
  const std::vector<std::uint64_t> items = {
      ExchangeWord::spike(0, 6, 1).bits(),
      0,
      ExchangeWord::control(Kind::diverged_step, ExchangeWord::kPayloadMask).bits(),
      0,
      ExchangeWord::control(Kind::diverged_neuron, 123456).bits(),
      0,
      ExchangeWord::spike(0, 5, 3).bits(),
      std::bit_cast<std::uint64_t>(0.25),
      ExchangeWord::control(Kind::stop, 0).bits(),
      0};
  ReceivedExchange received;
  receive_exchange(items, 1, needed, received);
  ASSERT_EQ(received.spikes.size(), 1u);
  EXPECT_EQ(received.spikes[0].position(), 3u);
  EXPECT_EQ(received.spikes[0].amplitude, 0.25);
  EXPECT_TRUE(received.stop);
  ASSERT_TRUE(received.divergence);
  EXPECT_EQ(received.divergence->neuron, 123456u);
  EXPECT_EQ(received.words, 5u);
  // Reused: the next exchange starts from nothing.
  receive_exchange({ExchangeWord::spike(0, 6, 0).bits(), 0}, 1, needed, received);
  EXPECT_TRUE(received.spikes.empty());
  EXPECT_FALSE(received.stop);
  EXPECT_FALSE(received.divergence);
  // A word without its payload, or a spike beyond the interval, is a programming error.
  EXPECT_THROW(receive_exchange({ExchangeWord::spike(0, 5, 0).bits()}, 1, needed, received),
               std::logic_error);
  EXPECT_THROW(receive_exchange({ExchangeWord::spike(2, 5, 0).bits(), 0}, 2, needed, received),
               std::logic_error);
}

// docs/scaling.md's crossover: the directed exchange pays when many words are not needed by
// most ranks; few words, few ranks or many listeners keep the allgather.
TEST(SpikeExchange, AutoIsDirectedWhenManyWordsAreNotNeeded) {
  const double grid_1000 = 1e6 * 100 * 1e-3;  // 1000x1000 circuits at r_max 100 Hz, dt 1 ms
  const double grid_256 = 65536 * 100 * 1e-3;
  EXPECT_EQ(choose_exchange_mode(1, 1.0, grid_1000), ExchangeMode::allgather);
  EXPECT_EQ(choose_exchange_mode(64, 3.9, grid_1000), ExchangeMode::directed);
  EXPECT_EQ(choose_exchange_mode(1024, 15.1, grid_1000), ExchangeMode::directed);
  EXPECT_EQ(choose_exchange_mode(64, 60.0, grid_1000), ExchangeMode::allgather);       // all listen
  EXPECT_EQ(choose_exchange_mode(16, 3.8, 50 * 100 * 1e-3), ExchangeMode::allgather);  // 10x5
  EXPECT_EQ(choose_exchange_mode(64, 8.6, grid_256), ExchangeMode::allgather);  // at the edge
  EXPECT_EQ(choose_exchange_mode(256, 15.0, 4 * grid_256), ExchangeMode::directed);
}

// Tiles interleave the ranks' circuit ids: on a 2x4 grid, rank 0 owns circuits {0, 1, 4, 5}, rank
// 1 {2, 3, 6, 7}; each posts its spikes by step, then id. The words of a step still end in id
// order: by step and grid row (a counting sort), or, for ranks in no such order, sorted.
TEST(SpikeExchange, WordsOfInterleavedRanksEndInIdOrder) {
  using W = ExchangeWord;
  auto order_of = [](const std::vector<std::uint64_t>& words, const GridRows& grid) {
    std::vector<std::uint64_t> items;
    for (const std::uint64_t word : words) items.insert(items.end(), {word, 0});
    ReceivedExchange received;
    receive_exchange(items, 2, CircuitSet::all(8), received, grid);
    std::vector<std::pair<std::int64_t, std::uint64_t>> order;
    for (const ReceivedSpike& spike : received.spikes)
      order.emplace_back(spike.step_offset(), spike.circuit());
    return order;
  };
  const std::vector<std::pair<std::int64_t, std::uint64_t>> id_order{{0, 0}, {0, 2}, {0, 4},
                                                                     {1, 1}, {1, 3}, {1, 6}};
  const std::vector<std::uint64_t> tiles{
      W::spike(0, 0, 1).bits(), W::spike(0, 4, 0).bits(), W::spike(1, 1, 0).bits(),   // rank 0
      W::spike(0, 2, 3).bits(), W::spike(1, 3, 0).bits(), W::spike(1, 6, 2).bits()};  // rank 1
  EXPECT_EQ(order_of(tiles, GridRows(2, 4)), id_order);
  EXPECT_EQ(order_of(tiles, GridRows()), id_order);  // no rows: sorted
  // Rank 1 owns the left of each row: not a partition seqlearn makes; sorted all the same.
  const std::vector<std::uint64_t> reversed{W::spike(0, 2, 3).bits(), W::spike(1, 3, 0).bits(),
                                            W::spike(1, 6, 2).bits(), W::spike(0, 0, 1).bits(),
                                            W::spike(0, 4, 0).bits(), W::spike(1, 1, 0).bits()};
  EXPECT_EQ(order_of(reversed, GridRows(2, 4)), id_order);
  // The row of a circuit without a division, near multiples of a large width too.
  const GridRows wide(5, 1000003);
  for (const std::uint64_t c : {0ull, 1000002ull, 1000003ull, 2000005ull, 2000006ull, 5000014ull})
    EXPECT_EQ(wide.row(c), c / 1000003) << c;
}

// A grid of a million rows (tiles of a 1000000x1 grid) with a 1,000-step interval: a bucket per
// (step, row) would be a billion counters cleared per exchange. The scratch stays a bucket per
// step, and the spikes of interleaved ranks still end in (step, id) order.
TEST(SpikeExchange, ManyRowsAndALongIntervalNeedNoBucketPerRow) {
  using W = ExchangeWord;
  const std::vector<std::uint64_t> words{
      W::spike(999, 900000, 1).bits(), W::spike(3, 500000, 0).bits(),  // rank 1, own order
      W::spike(3, 7, 2).bits(), W::spike(999, 8, 0).bits()};           // rank 0
  std::vector<std::uint64_t> items;
  for (const std::uint64_t word : words) items.insert(items.end(), {word, 0});
  ReceivedExchange received;
  receive_exchange(items, 1000, CircuitSet::all(1000000), received, GridRows(1000000, 1));
  std::vector<std::pair<std::int64_t, std::uint64_t>> order;
  for (const ReceivedSpike& spike : received.spikes)
    order.emplace_back(spike.step_offset(), spike.circuit());
  EXPECT_EQ(order, (std::vector<std::pair<std::int64_t, std::uint64_t>>{
                       {3, 7}, {3, 500000}, {999, 8}, {999, 900000}}));
  EXPECT_LE(received.bucket_begin.size(), 1001u);
  // A grid whose rows x steps stay near the items: a bucket per (step, row), as for tiles.
  receive_exchange(items, 2000, CircuitSet::all(1000000), received, GridRows(10, 100000));
  EXPECT_EQ(received.bucket_begin.size(), 2000u * 10 + 1);
}

TEST(Recorder, TracedNeuronsSplitOverRanksAsTheChoiceSays) {
  const Config config = make_config({{"network.grid", "6x5"}, {"record.neurons", "random:25"}});
  const CounterRng rng(config.seed);
  const Network whole(config, 1);
  const std::vector<std::uint64_t> chosen =
      Recorder(config, whole, LocalDomain(whole, 0), rng).record().trace_neurons;
  ASSERT_EQ(chosen.size(), 25u);
  EXPECT_TRUE(std::is_sorted(chosen.begin(), chosen.end()));
  for (const PartitionChoice shape : {PartitionChoice::strips, PartitionChoice::tiles}) {
    Config shaped = config;
    shaped.partition = shape;
    const Network split(shaped, 4);
    std::vector<std::uint64_t> joined;
    for (int rank = 0; rank < 4; ++rank) {
      const LocalDomain domain(split, rank);
      const Recorder recorder(shaped, split, domain, rng);
      for (auto g : recorder.record().trace_neurons) {
        EXPECT_TRUE(domain.owns_neuron(g));
        joined.push_back(g);
      }
    }
    std::sort(joined.begin(), joined.end());  // tiles: ranks do not own ascending ranges
    EXPECT_EQ(joined, chosen);
  }
  // Neurons the network lacks are refused with the config, before any part is built.
  EXPECT_THROW(make_config({{"network.grid", "2x2"}, {"record.neurons", "range:0-500"}}),
               ConfigError);
}

TEST(Recorder, TracesAndWeightsOfTracedNeuronsOnly) {
  const Config config = make_config({{"network.grid", "2x1"}, {"record.neurons", "list:1"}});
  const Network network(config, 1);
  const LocalDomain domain(network, 0);
  Recorder recorder(config, network, domain, CounterRng(config.seed));
  NeuronState neurons(domain.n_neurons());
  neurons.potential[1] = 0.25;
  neurons.rate_fraction[1] = 0.5;
  neurons.readout[1] = 2.0;
  recorder.record_traces(40, neurons);
  SynapseRows synapses(std::vector<std::uint64_t>(domain.n_neurons(), 2));
  synapses.weight[2] = -1.0;
  synapses.weight[3] = -2.0;
  const std::vector<std::uint64_t> sources{4, 9};
  recorder.record_synapses(synapses, domain, [&](std::uint64_t) { return sources; });
  recorder.record_synapses(synapses, domain, [&](std::uint64_t) { return sources; });
  const Record& r = recorder.record();
  EXPECT_EQ(r.trace_steps, (std::vector<std::int64_t>{40}));
  EXPECT_EQ(r.trace("u"), (std::vector<double>{0.25}));
  EXPECT_EQ(r.trace("p"), (std::vector<double>{0.5}));
  EXPECT_EQ(r.trace("readout"), (std::vector<double>{2.0}));
  EXPECT_EQ(r.trace_weight_pre, sources);  // once, however often weights are recorded
  EXPECT_EQ(r.trace_weight_post, (std::vector<std::uint64_t>{1, 1}));
  EXPECT_EQ(r.synapse_trace("weight"), (std::vector<double>{-1.0, -2.0, -1.0, -2.0}));
}

// /traces/NAME holds one quantity: a name taken by both registries, or by the traced neurons'
// and synapses' indices, is refused before anything is recorded.
TEST(Recorder, QuantityNamesDoNotClash) {
  EXPECT_NO_THROW(check_quantity_names());  // the built-in ones
  const auto read = [](const NeuronState&, std::uint64_t) { return 0.0; };
  const auto read_synapse = [](const SynapseRows&, std::uint64_t) { return 0.0; };
  Registry<NeuronQuantity> neuron;
  Registry<SynapseQuantity> synapse;
  neuron.add("u", {"1", "u", read});
  synapse.add("weight", {"1", "w", read_synapse});
  EXPECT_NO_THROW(check_quantity_names(neuron, synapse));
  synapse.add("u", {"1", "a second u", read_synapse});
  EXPECT_THROW(check_quantity_names(neuron, synapse), std::logic_error);
  for (const char* index : {"step", "neuron", "weight_pre", "weight_post"}) {
    Registry<NeuronQuantity> clashing;
    clashing.add(index, {"1", "an index's name", read});
    EXPECT_THROW(check_quantity_names(clashing, Registry<SynapseQuantity>{}), std::logic_error)
        << index;
    Registry<SynapseQuantity> clashing_synapse;
    clashing_synapse.add(index, {"1", "an index's name", read_synapse});
    EXPECT_THROW(check_quantity_names(Registry<NeuronQuantity>{}, clashing_synapse),
                 std::logic_error)
        << index;
  }
  // One HDF5 path component (hostile test: 'u/v' became /traces/u/v, a clash found only when
  // the output was written, after the whole run).
  for (const char* bad : {"u/v", ".", "..", "/x"}) {
    Registry<NeuronQuantity> odd;
    odd.add(bad, {"1", "a path", read});
    EXPECT_THROW(check_quantity_names(odd, Registry<SynapseQuantity>{}), std::logic_error) << bad;
    Registry<SynapseQuantity> odd_synapse;
    odd_synapse.add(bad, {"1", "a path", read_synapse});
    EXPECT_THROW(check_quantity_names(Registry<NeuronQuantity>{}, odd_synapse), std::logic_error)
        << bad;
    EXPECT_THROW(check_quantity_names(Registry<NeuronQuantity>{}, Registry<SynapseQuantity>{}, odd),
                 std::logic_error)
        << bad;
  }
  // /spikes has names of its own: u may be a trace and a spike quantity at once.
  Registry<NeuronQuantity> at_spikes;
  at_spikes.add("u", {"1", "u at the spike", read});
  EXPECT_NO_THROW(check_quantity_names(neuron, Registry<SynapseQuantity>{}, at_spikes));
  for (const char* index : {"step", "neuron"}) {
    Registry<NeuronQuantity> clashing;
    clashing.add(index, {"1", "an index's name", read});
    EXPECT_THROW(check_quantity_names(neuron, Registry<SynapseQuantity>{}, clashing),
                 std::logic_error)
        << index;
  }
}

// A task's targets are /input/NAME (hostile test: a clash with /input/rate or /input/spikes was
// found only when the output was written, after the whole run).
TEST(Recorder, TaskTargetNamesDoNotClash) {
  EXPECT_NO_THROW(check_target_names());  // the built-in ones: multi's rate
  const auto with_targets = [](const std::string& name, bool width) {
    TaskEntry entry;
    entry.targets = TaskTargets{.name = name, .unit = "Hz", .width = nullptr};
    if (width) entry.targets->width = [](const Config&) { return std::uint64_t{1}; };
    return entry;
  };
  Registry<TaskEntry> tasks;
  tasks.add("a", with_targets("rate", true));
  tasks.add("b", with_targets("level", true));
  tasks.add("c", TaskEntry{});  // no targets
  EXPECT_NO_THROW(check_target_names(tasks));
  for (const char* bad : {"rate", "spikes", "pattern_id", "sequence_id", "a/b", "."}) {
    Registry<TaskEntry> clashing = tasks;
    clashing.add("d", with_targets(bad, true));
    EXPECT_THROW(check_target_names(clashing), std::logic_error) << bad;
  }
  Registry<TaskEntry> no_width;
  no_width.add("e", with_targets("level", false));
  EXPECT_THROW(check_target_names(no_width), std::logic_error);
}

// Targets of another width than the entry says are refused at the step that makes them, not
// when the output is written.
TEST(Recorder, TaskTargetsOfTheWrongWidthAreRefusedAtOnce) {
  const Config config = make_config(
      {{"network.grid", "2x1"}, {"run.protocol", "train:100:multi"}, {"input.multi_groups", "2"}});
  const Network network(config, 1);
  const LocalDomain domain(network, 0);
  Recorder recorder(config, network, domain, CounterRng(config.seed));
  recorder.record_targets(3, "multi", {5.0, 6.0});
  EXPECT_THROW(recorder.record_targets(4, "multi", {5.0}), std::logic_error);
  EXPECT_THROW(recorder.record_targets(4, "pattern", {5.0}), std::logic_error);  // has none
  const auto& targets = recorder.record().targets.at("multi");
  EXPECT_EQ(targets.step, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(targets.value, (std::vector<double>{5.0, 6.0}));
}

// The core writes no files: a checkpoint goes through the writer the caller installs (the I/O
// library's, in main), and a due checkpoint without one is a programming error, not a silent
// loss.
TEST(Simulator, CheckpointsGoThroughTheInstalledWriter) {
  auto comm = make_local_communicator();
  const Config config = make_config({{"network.grid", "2x2"},
                                     {"run.protocol", "train:30"},
                                     {"output.checkpoint_every_ms", "10"},
                                     {"output.file", "parts.h5"}});
  Simulator without(config, *comm, seqlearn::load_simulator_inputs(config));
  EXPECT_THROW(without.run(), std::logic_error);
  Simulator with(config, *comm, seqlearn::load_simulator_inputs(config));
  std::vector<std::int64_t> steps;
  with.set_checkpoint_writer([&](const CheckpointParts& parts, const std::string& path) {
    EXPECT_EQ(path, config.checkpoint_file);
    steps.push_back(parts.position.step);
  });
  EXPECT_EQ(with.run(), Simulator::Outcome::completed);
  EXPECT_EQ(steps, (std::vector<std::int64_t>{10, 20, 30}));
}

}  // namespace
}  // namespace seqlearn

// The sizes the estimates take from the structures (src/estimates.cpp), worked by hand: a state's
// checkpoint fields, km2013's pair table, and what the recorder keeps per spike, step and sample.
TEST(Estimates, SizesComeFromTheStructures) {
  using seqlearn::checkpoint_bytes_per_item;
  EXPECT_EQ(checkpoint_bytes_per_item<seqlearn::SynapseRows>(), 24u);  // w, S, Q
  EXPECT_EQ(checkpoint_bytes_per_item<seqlearn::SourceState>(), 40u);  // e, ê, R, u, last spike
  EXPECT_EQ(checkpoint_bytes_per_item<seqlearn::NeuronState>(), 24u);  // the sums, x
  EXPECT_EQ(seqlearn::Network::km2013_table_bytes(10), 100.0 * (16 + 8 + 1));
  EXPECT_EQ(seqlearn::Recorder::kBytesPerInputSpike, 13.0);

  using seqlearn::Recorder;
  const auto with = [](std::vector<std::pair<std::string, std::string>> overrides) {
    overrides.emplace_back("run.protocol", "train:100,test:50:multi");
    return seqlearn::make_config(overrides);
  };
  const seqlearn::Config all = with({{"input.multi_groups", "3"}});
  EXPECT_EQ(Recorder::bytes_per_spike(all), 16.0);  // step, neuron; no spike quantity built in
  // 150 steps x 3 int32 labels, and multi's targets: at most a step and 3 rates per step of its
  // 50 steps.
  EXPECT_EQ(Recorder::label_bytes(all), 150.0 * 12 + 50.0 * (8 + 3 * 8));
  EXPECT_TRUE(Recorder::samples_synapses(all));
  EXPECT_EQ(Recorder::values_per_traced_neuron(all, 10.0), 3.0 + 10.0);  // u, p, readout; weight
  const seqlearn::Config p_only = with({{"record.quantities", "p"}});
  EXPECT_FALSE(Recorder::samples_synapses(p_only));
  EXPECT_EQ(Recorder::values_per_traced_neuron(p_only, 10.0), 1.0);
  const seqlearn::Config no_weights = with({{"record.weight_traces", "false"}});
  EXPECT_FALSE(Recorder::samples_synapses(no_weights));
  EXPECT_EQ(Recorder::values_per_traced_neuron(no_weights, 10.0), 3.0);
  EXPECT_EQ(Recorder::values_per_traced_neuron(with({{"record.quantities", "none"}}), 10.0), 0.0);
}
