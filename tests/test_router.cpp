// The spike router (spike_router.hpp), the exchange word and its decoding (exchange_word.hpp)
// and the state groups (state.hpp), each without running a simulation. Expected values are
// worked out by hand from the row layout [inputs][source circuits, ascending].
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/exchange_word.hpp"
#include "seqlearn/network.hpp"
#include "seqlearn/spike_router.hpp"
#include "seqlearn/state.hpp"

using seqlearn::Arrival;
using seqlearn::Config;
using seqlearn::ExchangeWord;
using seqlearn::Network;
using seqlearn::SpikeRouter;

namespace {

// 1x3 grid of circuits of 2 neurons, all pairs connected (km2013 caps n_conn at C(C-1) = 6),
// 3 input channels. Neurons: circuit 0 = {0, 1}, circuit 1 = {2, 3}, circuit 2 = {4, 5};
// source ids: inputs 0-2, neuron g = 3 + g.
Config three_circuits() {
  return seqlearn::make_config({{"network.grid", "1x3"},
                                {"network.k_min", "2"},
                                {"network.k_max", "2"},
                                {"network.n_inputs", "3"},
                                {"network.n_conn", "6"}});
}

// The router of a rank that owns circuits [first, end).
std::vector<std::int64_t> circuits(std::int64_t first, std::int64_t end) {
  std::vector<std::int64_t> ids;
  for (std::int64_t c = first; c < end; ++c) ids.push_back(c);
  return ids;
}

}  // namespace

TEST(SpikeRouter, RowLayoutIsInputsThenSourceCircuitsAscending) {
  const Network net(three_circuits(), 1);
  const SpikeRouter router(net, circuits(1, 3), 1);  // owns circuits 1 and 2, needs all three
  EXPECT_EQ(router.needed_circuits(), (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(router.n_sources(), 3u + 6u);
  // Circuit 1 (local 0) listens to circuits 0 and 2; circuit 2 (local 1) to circuits 0 and 1.
  const auto row0 = router.blocks_of(0);
  ASSERT_EQ(row0.size(), 3u);
  EXPECT_EQ(row0[0].first_source, 0u);  // inputs
  EXPECT_EQ(row0[0].count, 3u);
  EXPECT_EQ(row0[0].row_offset, 0u);
  EXPECT_EQ(row0[1].first_source, 3u);  // circuit 0's neurons are local sources 3, 4
  EXPECT_EQ(row0[1].row_offset, 3u);
  EXPECT_EQ(row0[2].first_source, 7u);  // circuit 2's are 7, 8
  EXPECT_EQ(row0[2].row_offset, 5u);
  EXPECT_EQ(router.row_length(0), 7u);
  EXPECT_EQ(router.row_sources(0), (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 7, 8}));
  EXPECT_EQ(router.row_sources(1), (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(SpikeRouter, TargetsSayWhichLocalCircuitsListenAndWhere) {
  const Network net(three_circuits(), 1);
  const SpikeRouter router(net, circuits(1, 3), 1);
  const auto of0 = router.targets_of(0);  // circuit 0 -> both local circuits, at offset 3
  ASSERT_EQ(of0.size(), 2u);
  EXPECT_EQ(of0[0].circuit, 0u);
  EXPECT_EQ(of0[0].row_offset, 3u);
  EXPECT_EQ(of0[1].circuit, 1u);
  EXPECT_EQ(of0[1].row_offset, 3u);
  EXPECT_EQ(router.target_neurons(0), 4u);
  const auto of1 = router.targets_of(1);  // circuit 1 -> circuit 2 only, after circuit 0
  ASSERT_EQ(of1.size(), 1u);
  EXPECT_EQ(of1[0].circuit, 1u);
  EXPECT_EQ(of1[0].row_offset, 5u);
  EXPECT_EQ(router.target_neurons(1), 2u);
  // A thread's share of the local circuits: only the targets inside it.
  EXPECT_EQ(router.targets_in(0, 0, 2).size(), 2u);
  ASSERT_EQ(router.targets_in(0, 1, 2).size(), 1u);
  EXPECT_EQ(router.targets_in(0, 1, 2)[0].circuit, 1u);
  ASSERT_EQ(router.targets_in(0, 0, 1).size(), 1u);
  EXPECT_EQ(router.targets_in(0, 0, 1)[0].circuit, 0u);
  EXPECT_EQ(router.targets_in(1, 0, 1).size(), 0u);  // circuit 1 reaches local circuit 1 only
  EXPECT_EQ(router.targets_in(1, 1, 2).size(), 1u);
}

TEST(SpikeRouter, RoutesGlobalIdsToLocalSourcesAndBack) {
  const Network net(seqlearn::make_config({{"network.grid", "1x2"},
                                           {"network.k_min", "2"},
                                           {"network.k_max", "2"},
                                           {"network.n_inputs", "3"}}),
                    2);
  const SpikeRouter router(net, circuits(1, 2), 1);  // owns circuit 1, which listens to circuit 0
  const auto input = router.route(2);
  ASSERT_TRUE(input);
  EXPECT_EQ(input->source, 2u);
  EXPECT_EQ(input->source_circuit, SpikeRouter::kInput);
  EXPECT_EQ(input->offset, 2u);
  const auto neuron3 = router.route(3 + 3);  // neuron 3: circuit 1, offset 1
  ASSERT_TRUE(neuron3);
  EXPECT_EQ(neuron3->source, 3u + 2u + 1u);
  EXPECT_EQ(neuron3->source_circuit, 1u);
  EXPECT_EQ(neuron3->offset, 1u);
  for (std::uint32_t j = 0; j < router.n_sources(); ++j)
    EXPECT_EQ(router.route(router.source_id(j))->source, j) << "local source " << j;
  // Nobody here listens to circuit 1's own neurons, but their owner keeps them as sources.
  EXPECT_EQ(router.targets_of(1).size(), 0u);
  const auto by_position = router.route_neuron(1, 1);  // neuron 3 again, without a search
  ASSERT_TRUE(by_position);
  EXPECT_EQ(by_position->source, neuron3->source);
  // A circuit no local circuit listens to is not routed.
  const Network sparse(seqlearn::make_config({{"network.grid", "1x3"},
                                              {"network.k_min", "2"},
                                              {"network.k_max", "2"},
                                              {"network.n_inputs", "3"},
                                              {"network.n_conn", "0"}}),
                       1);
  const SpikeRouter alone(sparse, circuits(0, 1), 1);
  EXPECT_FALSE(alone.route(3 + 4));  // neuron 4 of circuit 2
  EXPECT_TRUE(alone.route(3 + 1));   // its own neuron
}

TEST(SpikeRouter, SourceRunsCoverEverySourceOnceInIdOrder) {
  const Network net(three_circuits(), 1);
  const SpikeRouter router(net, circuits(2, 3), 1);
  std::vector<int> seen(router.n_sources(), 0);
  router.for_each_source_run([&](std::uint64_t id, std::uint32_t j, std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      ++seen[j + i];
      EXPECT_EQ(router.source_id(static_cast<std::uint32_t>(j + i)), id + i);
    }
  });
  for (int count : seen) EXPECT_EQ(count, 1);
}

TEST(SpikeRouter, ArrivalRingDelaysByDelayMinusOneSteps) {
  const Network net(three_circuits(), 1);
  SpikeRouter router(net, circuits(0, 3), 3);
  router.queue(5, Arrival{1, SpikeRouter::kInput, 1, 0.25});
  EXPECT_TRUE(router.arrivals_at(5).empty());
  EXPECT_TRUE(router.arrivals_at(6).empty());
  ASSERT_EQ(router.arrivals_at(7).size(), 1u);
  EXPECT_EQ(router.arrivals_at(7)[0].amplitude, 0.25);
  router.clear_arrivals();
  EXPECT_TRUE(router.arrivals_at(7).empty());
  SpikeRouter one_step(net, circuits(0, 3), 1);
  one_step.queue(5, Arrival{});
  EXPECT_EQ(one_step.arrivals_at(5).size(), 1u);  // delay 1: the same step's sub-step 5
}

TEST(ExchangeWord, EncodesSpikesAndControlMessages) {
  const auto spike = ExchangeWord::spike(999, ExchangeWord::kMaxCircuits - 1, 1023);
  EXPECT_TRUE(spike.is_spike());
  EXPECT_EQ(spike.step_offset(), 999);
  EXPECT_EQ(spike.circuit(), ExchangeWord::kMaxCircuits - 1);
  EXPECT_EQ(spike.position(), 1023u);
  // Enough for the options' limits: 2^31 circuits, k_max 1000, delay 1000.
  EXPECT_GE(ExchangeWord::kMaxCircuits, std::uint64_t{1} << 31);
  EXPECT_GE(ExchangeWord::kMaxCircuitSize, 1000u);
  EXPECT_GE(ExchangeWord::kMaxIntervalSteps, 1001);
  const auto stop = ExchangeWord::control(ExchangeWord::Kind::stop, 0);
  EXPECT_FALSE(stop.is_spike());
  EXPECT_EQ(stop.kind(), ExchangeWord::Kind::stop);
  const auto step = ExchangeWord::control(ExchangeWord::Kind::diverged_step, 123456789);
  EXPECT_EQ(step.kind(), ExchangeWord::Kind::diverged_step);
  EXPECT_EQ(step.payload(), 123456789u);
}

TEST(ExchangeWord, ReceivedSpikesAreInStepThenIdOrder) {
  // Rank 0 owns circuit 0, rank 1 circuits 5-7; each lists its spikes in step order.
  const std::vector<std::uint64_t> words = {
      ExchangeWord::spike(0, 0, 1).bits(), ExchangeWord::spike(1, 0, 0).bits(),
      ExchangeWord::spike(0, 7, 0).bits(), ExchangeWord::spike(1, 5, 2).bits()};
  const auto received = seqlearn::receive_exchange(words, 2);
  ASSERT_EQ(received.spikes.size(), 4u);
  const std::vector<std::array<std::uint64_t, 3>> expected = {
      {0, 0, 1}, {0, 7, 0}, {1, 0, 0}, {1, 5, 2}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(received.spikes[i].step_offset(), static_cast<std::int64_t>(expected[i][0]));
    EXPECT_EQ(received.spikes[i].circuit(), expected[i][1]);
    EXPECT_EQ(received.spikes[i].position(), expected[i][2]);
  }
  EXPECT_FALSE(received.stop);
  EXPECT_FALSE(received.divergence);
}

// The report names one event: the earliest step and the lowest neuron at that step, never
// the step of one rank's report with the neuron of another's.
TEST(ExchangeWord, DivergenceReportsAreComparedAsStepNeuronPairs) {
  using Kind = ExchangeWord::Kind;
  const std::vector<std::uint64_t> words = {ExchangeWord::spike(0, 0, 1).bits(),
                                            ExchangeWord::control(Kind::diverged_step, 10).bits(),
                                            ExchangeWord::control(Kind::diverged_neuron, 4).bits(),
                                            ExchangeWord::control(Kind::stop, 0).bits(),
                                            ExchangeWord::control(Kind::diverged_step, 9).bits(),
                                            ExchangeWord::control(Kind::diverged_neuron, 8).bits()};
  const auto received = seqlearn::receive_exchange(words, 1);
  EXPECT_EQ(received.spikes.size(), 1u);
  EXPECT_TRUE(received.stop);
  ASSERT_TRUE(received.divergence);
  EXPECT_EQ(received.divergence->step, 9);
  EXPECT_EQ(received.divergence->neuron, 8u);
}

TEST(SourceState, ResetAndFireFollowM12ToM14) {
  seqlearn::SourceParameters parameters;
  parameters.U = {0.5, 0.5};
  parameters.D_s = {0.1, 0.1};
  parameters.F_s = {0.005, 0.005};
  seqlearn::SourceState state;
  state.reset(parameters, 0);
  EXPECT_EQ(state.stp_R, (std::vector<double>{1.0, 1.0}));
  EXPECT_EQ(state.stp_u, parameters.U);
  EXPECT_EQ(state.last_spike, (std::vector<std::int64_t>{-1, -1}));
  // First spike at step 10, dt = 1 ms: isi = 10 ms; R u = 0.5 is what the spike carries.
  EXPECT_EQ(state.fire(0, 10, parameters, true, 1e-3), 0.5);
  EXPECT_NEAR(state.stp_R[0], 1.0 - 0.5 * std::exp(-0.1), 1e-15);   // M12
  EXPECT_NEAR(state.stp_u[0], 0.5 + 0.25 * std::exp(-2.0), 1e-15);  // M13
  EXPECT_EQ(state.last_spike[0], 10);
  EXPECT_EQ(state.fire(1, 10, parameters, false, 1e-3), 1.0);  // no STP: amplitude 1
  EXPECT_EQ(state.stp_R[1], 1.0);
  EXPECT_EQ(state.last_spike[1], 10);
  state.trace_decay[0] = 3.0;
  state.reset(parameters, 50);  // a test phase at step 50
  EXPECT_EQ(state.trace_decay[0], 0.0);
  EXPECT_EQ(state.stp_R[0], 1.0);
  EXPECT_EQ(state.last_spike[0], 49);
}

TEST(StateGroups, CheckpointFieldsNameTheDatasets) {
  seqlearn::SourceState sources;
  seqlearn::NeuronState neurons(2);
  seqlearn::SynapseRows synapses({3, 3});
  std::string names;
  auto collect = [&](const char* name, const auto&, seqlearn::Valid) {
    names += std::string(name) + " ";
  };
  seqlearn::SourceState::checkpoint_fields(sources, collect);
  seqlearn::NeuronState::checkpoint_fields(neurons, collect);
  seqlearn::SynapseRows::checkpoint_fields(synapses, collect);
  EXPECT_EQ(names,
            "trace_decay trace_rise stp_R stp_u last_spike weighted_decay weighted_rise readout "
            "weight variance_tracking_mean variance_tracking_second_moment ");
  EXPECT_EQ(synapses.row_begin, (std::vector<std::uint64_t>{0, 3, 6}));
  EXPECT_EQ(synapses.variance_tracking_second_moment,
            std::vector<double>(6, 1.0));  // Q = 1, S = 0, w = 0
  neurons.weighted_decay[1] = 2.0;
  neurons.readout[0] = 1.0;
  neurons.bias[0] = 0.5;
  neurons.reset_transients();
  EXPECT_EQ(neurons.weighted_decay[1], 0.0);
  EXPECT_EQ(neurons.readout[0], 0.0);
  EXPECT_EQ(neurons.bias[0], 0.5);  // not a transient
}
