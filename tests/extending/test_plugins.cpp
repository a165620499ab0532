// The worked examples of docs/extending.md by hand (tests/extending/plugins.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "seqlearn/plasticity.hpp"
#include "seqlearn/recordables.hpp"

namespace {

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

}  // namespace
