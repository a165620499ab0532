// The `multi` input task (docs/model.md 11.6): groups of channels at rates drawn anew every
// window, the windows counted from the phase start, the rates within input.multi_rate_range,
// the spike counts matching the rates, resuming mid-window bit-identically, and its keys'
// errors. Statistical tolerances are 5 standard deviations of the counts involved.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/rng.hpp"

using seqlearn::Config;
using seqlearn::ConfigError;
using seqlearn::InputGenerator;
using seqlearn::InputStep;
using seqlearn::make_config;

namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

Config multi_config(Overrides extra = {}) {
  extra.emplace_back("run.protocol", "train:1000:multi");
  extra.emplace_back("network.n_inputs", "7");  // 3 groups of 2 channels; channel 6 silent
  extra.emplace_back("input.multi_groups", "3");
  extra.emplace_back("input.multi_rate_range", "10,40");
  return make_config(extra);
}

struct Step {
  InputStep in;
  std::vector<double> rates;
};

std::vector<Step> run_phase(const Config& c, std::int64_t first, std::int64_t steps) {
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, {});
  gen.start_phase(c.input_settings(c.protocol.front()));
  std::vector<Step> out(static_cast<std::size_t>(steps));
  for (std::int64_t s = 0; s < steps; ++s) {
    auto& step = out[static_cast<std::size_t>(s)];
    gen.generate(first + s, step.in);
    step.rates = gen.targets();
  }
  return out;
}

std::string error_of(const Overrides& overrides) {
  try {
    make_config(overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(MultiTask, RatesChangeOnlyAtWindowStartsWithinTheirRange) {
  const Config c = multi_config();
  const std::int64_t first = 1237;  // windows count from the phase's first step
  const auto steps = run_phase(c, first, 100 * 300);
  double sum = 0, n = 0;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const bool window_start = s % 100 == 0;
    EXPECT_EQ(steps[s].in.targets_new, window_start) << s;
    EXPECT_EQ(steps[s].in.pattern_id, -1);
    EXPECT_EQ(steps[s].in.pattern_id_2, -1);
    EXPECT_EQ(steps[s].in.sequence_id, -1);
    ASSERT_EQ(steps[s].rates.size(), 3u);
    for (std::size_t g = 0; g < 3; ++g) {
      ASSERT_GE(steps[s].rates[g], 10.0);
      ASSERT_LE(steps[s].rates[g], 40.0);
      if (!window_start) {
        ASSERT_EQ(steps[s].rates[g], steps[s - 1].rates[g]) << "a rate changed inside a window";
      }
      if (window_start) sum += steps[s].rates[g], n += 1;
    }
  }
  // uniform on [10, 40]: mean 25, sd 30 / sqrt(12) per draw
  EXPECT_NEAR(sum / n, 25.0, 5 * (30 / std::sqrt(12.0)) / std::sqrt(n));
  // the groups draw independently: not all equal
  EXPECT_NE(steps[0].rates[0], steps[0].rates[1]);
}

TEST(MultiTask, SpikeCountsFollowEachGroupsRateAndTheLastChannelIsSilent) {
  const Config c = multi_config();
  const auto steps = run_phase(c, 0, 100 * 2000);
  std::vector<double> spikes(7, 0), expected(7, 0);
  for (const Step& s : steps) {
    for (std::size_t ch = 0; ch < 6; ++ch) expected[ch] += 1 - std::exp(-s.rates[ch / 2] * 1e-3);
    for (std::size_t k = 0; k < s.in.channels.size(); ++k) {
      ASSERT_LT(s.in.channels[k], 7u);
      if (k > 0) {
        ASSERT_LT(s.in.channels[k - 1], s.in.channels[k]);  // ascending
      }
      EXPECT_EQ(s.in.from_pattern[k], 0);
      spikes[s.in.channels[k]] += 1;
    }
  }
  for (std::size_t ch = 0; ch < 6; ++ch)
    EXPECT_NEAR(spikes[ch], expected[ch], 5 * std::sqrt(expected[ch]) + 1) << "channel " << ch;
  EXPECT_EQ(spikes[6], 0) << "channels beyond the last whole group stay silent";
}

TEST(MultiTask, EveryPhaseDrawsAfreshAndTheSeedDecides) {
  const Config c = multi_config();
  const auto a = run_phase(c, 0, 500), b = run_phase(c, 500, 500);
  EXPECT_NE(a[0].rates, b[0].rates);
  EXPECT_EQ(run_phase(c, 500, 500)[0].rates, b[0].rates);
  Overrides other{{"run.seed", "2"}};
  const Config d = multi_config(other);
  EXPECT_NE(run_phase(d, 0, 500)[0].rates, a[0].rates);
}

TEST(MultiTask, ResumeContinuesMidWindowBitIdentically) {
  const Config c = multi_config();
  const auto settings = c.input_settings(c.protocol.front());
  const auto whole = run_phase(c, 100, 1000);
  seqlearn::CounterRng rng(c.seed);
  InputGenerator first(c, rng, {});
  first.start_phase(settings);
  InputStep in;
  for (std::int64_t s = 0; s < 623; ++s) first.generate(100 + s, in);
  const auto state = first.state();
  EXPECT_EQ(state.task, "multi");
  EXPECT_EQ(state.position.integer("multi_position"), 23);
  InputGenerator second(c, rng, {});
  second.resume(settings, state);
  for (std::int64_t s = 623; s < 1000; ++s) {
    second.generate(100 + s, in);
    const Step& want = whole[static_cast<std::size_t>(s)];
    ASSERT_EQ(in.channels, want.in.channels) << s;
    ASSERT_EQ(second.targets(), want.rates) << s;
    // the restored phase reports its window's rates at its first step
    ASSERT_EQ(in.targets_new, s == 623 || want.in.targets_new) << s;
  }
}

TEST(MultiTask, KeysAreCheckedAndNamed) {
  EXPECT_EQ(make_config({{"input.task", "multi"}}).train_input.task, "multi");
  EXPECT_EQ(make_config({{"run.protocol", "test:100:multi"}}).protocol.front().task, "multi");
  const std::string groups =
      error_of({{"input.task", "multi"}, {"network.n_inputs", "3"}, {"input.multi_groups", "4"}});
  EXPECT_NE(groups.find("input.multi_groups"), std::string::npos) << groups;
  EXPECT_NE(groups.find("network.n_inputs"), std::string::npos) << groups;
  // more groups than channels is fine while no phase runs the task
  EXPECT_EQ(error_of({{"network.n_inputs", "3"}, {"input.multi_groups", "4"}}), "");
  EXPECT_NE(error_of({{"input.multi_groups", "0"}}).find("input.multi_groups"), std::string::npos);
  EXPECT_NE(error_of({{"input.multi_rate_range", "40,10"}}).find("input.multi_rate_range"),
            std::string::npos);
  EXPECT_NE(error_of({{"input.multi_rate_range", "-1,10"}}).find("input.multi_rate_range"),
            std::string::npos);
  EXPECT_NE(error_of({{"input.t_multi_window", "0"}}).find("input.t_multi_window"),
            std::string::npos);
  EXPECT_NE(
      error_of({{"input.t_multi_window", "2.5"}, {"neuron.dt", "2"}}).find("input.t_multi_window"),
      std::string::npos);
  EXPECT_NE(error_of({{"run.protocol", "test:100:foo"}}).find("file or multi"), std::string::npos);
}
