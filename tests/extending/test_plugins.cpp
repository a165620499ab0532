// The worked examples of docs/extending.md by hand (tests/extending/plugins.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "seqlearn/input.hpp"
#include "seqlearn/plasticity.hpp"
#include "seqlearn/recordables.hpp"

namespace {

std::string error_of(const std::vector<std::pair<std::string, std::string>>& overrides) {
  try {
    seqlearn::make_config(overrides);
  } catch (const seqlearn::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ExtendingRule, RegisteredAfterTheBuiltInOnesAndWorkedByHand) {
  const auto names = seqlearn::plasticity_rules().names();
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(names[0], "variance_tracking");
  EXPECT_EQ(names.back(), "inverse_sqrt_time");
  const auto rule = seqlearn::make_rule("inverse_sqrt_time", seqlearn::Config{});
  // eta 0.05 at N_train = 4: rate 0.025. w = 0 (e^w = 1), Y = 0.5: M8 delta = (0.5 - 1) / 1,
  // M9 w = 0 + 0.025 * -0.5 = -0.0125. A second synapse with Y = 1 stays at 0.
  double weight[2] = {0.0, 0.0};
  double mean[2] = {0.0, 0.0}, second_moment[2] = {1.0, 1.0};
  const double epsp[2] = {0.5, 1.0};
  const std::uint32_t source[2] = {0, 1};
  rule->update_row({.weight = weight,
                    .variance_tracking_mean = mean,
                    .variance_tracking_second_moment = second_moment,
                    .epsp = epsp,
                    .source = source,
                    .length = 2,
                    .eta = 0.05,
                    .learning_steps = 4});
  EXPECT_DOUBLE_EQ(weight[0], -0.0125);
  EXPECT_DOUBLE_EQ(weight[1], 0.0);
  EXPECT_EQ(mean[0], 0.0);  // its state is the weight alone
  EXPECT_EQ(second_moment[0], 1.0);
  EXPECT_THROW(seqlearn::make_rule("no_such_rule", seqlearn::Config{}), seqlearn::ConfigError);
}

TEST(ExtendingQuantity, InputDriveIsTheEventDrivenPartOfU) {
  const auto* drive = seqlearn::neuron_quantities().find("input_drive");
  ASSERT_NE(drive, nullptr);
  seqlearn::NeuronState neurons(2);
  neurons.weighted_decay[1] = 0.75;
  neurons.weighted_rise[1] = 0.25;
  EXPECT_EQ(drive->value(neurons, 1), 0.5);
  EXPECT_EQ(drive->value(neurons, 0), 0.0);
  EXPECT_EQ(seqlearn::neuron_quantities().names().back(), "input_drive");
}

TEST(ExtendingQuantity, EfficacyIsTheLinearWeight) {
  const auto* efficacy = seqlearn::synapse_quantities().find("efficacy");
  ASSERT_NE(efficacy, nullptr);
  seqlearn::SynapseRows synapses({1, 2});
  synapses.weight[2] = std::log(2.0);
  EXPECT_EQ(efficacy->value(synapses, 0), 1.0);  // w = 0
  EXPECT_DOUBLE_EQ(efficacy->value(synapses, 2), 2.0);
  EXPECT_EQ(seqlearn::synapse_quantities().names(),
            (std::vector<std::string>{"weight", "efficacy"}));
  EXPECT_NO_THROW(seqlearn::check_quantity_names());
}

TEST(ExtendingQuantity, UAtSpikeIsThePotential) {
  const auto* at_spike = seqlearn::spike_quantities().find("u_at_spike");
  ASSERT_NE(at_spike, nullptr);
  seqlearn::NeuronState neurons(2);
  neurons.potential[1] = -0.5;
  EXPECT_EQ(at_spike->value(neurons, 1), -0.5);
  EXPECT_EQ(seqlearn::spike_quantities().names(), std::vector<std::string>{"u_at_spike"});
}

TEST(ExtendingTask, RegisteredWithItsKeysAndWorkedByHand) {
  const auto names = seqlearn::input_tasks().names();
  ASSERT_EQ(names.size(), 5u);
  EXPECT_EQ(names[0], "pattern");
  EXPECT_EQ(names.back(), "wave");
  // A period of 4 steps: the rate at the quarters is 250 (1 + sin(k pi / 2)) Hz.
  const seqlearn::Config config = seqlearn::make_config({{"input.task", "wave"},
                                                         {"input.wave_period", "4"},
                                                         {"input.wave_rate", "250"},
                                                         {"network.n_inputs", "4000"}});
  EXPECT_TRUE(config.uses_task("wave"));
  const seqlearn::CounterRng rng(config.seed);
  seqlearn::InputGenerator generator(config, rng, {});
  generator.start_phase(config.train_input);
  seqlearn::InputStep step;
  const double rates[4] = {250, 500, 250, 0};
  for (int s = 0; s < 8; ++s) {
    generator.generate(100 + s, step);
    EXPECT_EQ(step.pattern_id, s % 4) << s;
    const double expected = 4000 * (1 - std::exp(-rates[s % 4] * 1e-3));
    EXPECT_NEAR(static_cast<double>(step.channels.size()), expected, 150) << s;
    EXPECT_TRUE(std::is_sorted(step.channels.begin(), step.channels.end()));
  }
  // Its position is checkpointed; a generator resumed from it continues identically.
  const seqlearn::InputGenerator::State state = generator.state();
  EXPECT_EQ(state.task, "wave");
  EXPECT_EQ(state.position.integer("wave_position"), 8);
  seqlearn::InputGenerator resumed(config, rng, {});
  resumed.resume(config.train_input, state);
  seqlearn::InputStep continued;
  for (int s = 8; s < 12; ++s) {
    generator.generate(100 + s, step);
    resumed.generate(100 + s, continued);
    EXPECT_EQ(continued.channels, step.channels) << s;
    EXPECT_EQ(continued.pattern_id, step.pattern_id) << s;
  }
}

TEST(ExtendingTask, ItsKeysAreCheckedAndNamed) {
  EXPECT_EQ(error_of({{"run.protocol", "train:100,test:100:wave"}}), "");
  const std::string period = error_of({{"input.wave_period", "2.5"}, {"neuron.dt", "2"}});
  EXPECT_NE(period.find("input.wave_period"), std::string::npos) << period;
  EXPECT_NE(period.find("multiple of neuron.dt"), std::string::npos) << period;
  EXPECT_NE(error_of({{"input.wave_rate", "-1"}}).find("input.wave_rate"), std::string::npos);
  const std::string task = error_of({{"run.protocol", "train:100:waves"}});
  EXPECT_NE(task.find("pattern, xor, file, multi or wave"), std::string::npos) << task;
}

}  // namespace

// The input label counts the step's input spikes, after the built-in labels.
TEST(Extending, InputLabelCountsTheStepsInputSpikes) {
  const auto* label = seqlearn::input_labels().find("active_channels");
  ASSERT_NE(label, nullptr);
  EXPECT_EQ(label->width, 1u);
  seqlearn::InputStep in;
  in.channels = {2, 5, 9};
  std::int32_t row[1] = {-7};
  label->value(in, row);
  EXPECT_EQ(row[0], 3);
  EXPECT_EQ(seqlearn::input_labels().names(),
            (std::vector<std::string>{"pattern_id", "sequence_id", "active_channels"}));
}
