// The input generator (docs/model.md 5): rates, phase lengths, frozen patterns, warp and modes,
// with tolerances of 5 standard deviations of the counts involved.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/rng.hpp"

using seqlearn::Config;
using seqlearn::InputGenerator;
using seqlearn::InputStep;

namespace {

// One presentation of a pattern: where it began, its id and its spikes (offset, channel).
struct Presentation {
  std::int64_t start = 0;
  std::int64_t length = 0;
  int pattern = -1;
  int sequence = -1;
  std::vector<std::pair<std::int64_t, std::uint32_t>> pattern_spikes;
};

struct Trace {
  std::vector<Presentation> presentations;
  std::vector<std::int64_t> noise_lengths;  // complete noise phases
  std::uint64_t noise_steps = 0, noise_spikes = 0;
  std::uint64_t pattern_steps = 0, pattern_only = 0, overlay_spikes = 0;
};

Trace generate(const Config& config, std::int64_t steps, bool test_settings = false) {
  seqlearn::CounterRng rng(config.seed);
  InputGenerator gen(config, rng, {});
  gen.start_phase(test_settings ? config.test_input : config.train_input);
  Trace t;
  InputStep in;
  int previous_pattern = -2;
  std::int64_t noise_run = 0;
  bool first_noise = true;
  for (std::int64_t s = 0; s < steps; ++s) {
    gen.generate(s, in);
    const bool new_presentation =
        in.pattern_id >= 0 &&
        (previous_pattern != in.pattern_id ||
         t.presentations.back().length ==
             static_cast<std::int64_t>(
                 std::floor(config.t_pattern_ms[static_cast<std::size_t>(in.pattern_id)] * 1e9)));
    if (in.pattern_id < 0) {
      ++noise_run;
      ++t.noise_steps;
      t.noise_spikes += in.channels.size();
    } else {
      if (previous_pattern < 0 && noise_run > 0) {
        if (!first_noise) t.noise_lengths.push_back(noise_run);
        first_noise = false;
        noise_run = 0;
      }
      if (new_presentation) t.presentations.push_back({s, 0, in.pattern_id, in.sequence_id, {}});
      auto& p = t.presentations.back();
      ++p.length;
      ++t.pattern_steps;
      for (std::size_t i = 0; i < in.channels.size(); ++i) {
        if (in.from_pattern[i]) {
          p.pattern_spikes.emplace_back(s - p.start, in.channels[i]);
          ++t.pattern_only;
        } else {
          ++t.overlay_spikes;
        }
      }
    }
    previous_pattern = in.pattern_id;
  }
  if (!t.presentations.empty()) t.presentations.pop_back();  // may be cut off
  return t;
}

void expect_binomial(double count, double trials, double p, const char* what) {
  const double sd = std::sqrt(trials * p * (1 - p));
  EXPECT_NEAR(count, trials * p, 5 * sd + 1) << what;
}

}  // namespace

TEST(InputGenerator, NoiseRatesAndPhaseLengths) {
  const Config c = seqlearn::make_config({});
  const Trace t = generate(c, 200000);
  expect_binomial(static_cast<double>(t.noise_spikes), static_cast<double>(t.noise_steps) * 100,
                  1 - std::exp(-5e-3), "5 Hz noise");
  // Overlay: 2 Hz on the channel-steps the pattern leaves free.
  expect_binomial(static_cast<double>(t.overlay_spikes),
                  static_cast<double>(t.pattern_steps) * 100 - static_cast<double>(t.pattern_only),
                  1 - std::exp(-2e-3), "2 Hz overlay");
  ASSERT_GT(t.noise_lengths.size(), 100u);
  double mean = 0;
  for (auto length : t.noise_lengths) {
    EXPECT_GE(length, 300);
    EXPECT_LE(length, 500);  // round_down(T/dt), T in [300, 500]
    mean += static_cast<double>(length);
  }
  mean /= static_cast<double>(t.noise_lengths.size());
  const double sd = 200 / std::sqrt(12.0) / std::sqrt(static_cast<double>(t.noise_lengths.size()));
  EXPECT_NEAR(mean, 399.5, 5 * sd);
}

TEST(InputGenerator, FrozenPatternRepeatsExactly) {
  const Config c = seqlearn::make_config({});
  const Trace t = generate(c, 100000);
  ASSERT_GT(t.presentations.size(), 50u);
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, {});
  std::set<std::pair<std::int64_t, std::uint32_t>> expected;  // floor(t / dt) per spike time
  double n_times = 0;
  for (std::uint32_t ch = 0; ch < 100; ++ch)
    for (double time : gen.pattern(0)[ch]) {
      expected.emplace(static_cast<std::int64_t>(std::floor(time)), ch);
      ++n_times;
    }
  // A frozen Poisson train at 5 Hz over 0.3 s and 100 channels: about 150 spikes.
  EXPECT_NEAR(n_times, 150, 5 * std::sqrt(150.0));
  for (const auto& p : t.presentations) {
    EXPECT_EQ(p.length, 300);
    const std::set<std::pair<std::int64_t, std::uint32_t>> seen(p.pattern_spikes.begin(),
                                                                p.pattern_spikes.end());
    EXPECT_EQ(seen, expected);
  }
}

TEST(InputGenerator, TimeWarpStretchesPatterns) {
  const Config c = seqlearn::make_config({{"input.time_warp_range", "0.5,2"}});
  const Trace t = generate(c, 100000);
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, {});
  ASSERT_GT(t.presentations.size(), 30u);
  std::set<std::int64_t> lengths;
  for (const auto& p : t.presentations) {
    EXPECT_GE(p.length, 150);
    EXPECT_LE(p.length, 600);
    lengths.insert(p.length);
    // Each pattern spike at t lands at floor(warp t), warp in [L/300, (L+1)/300).
    std::set<std::pair<std::int64_t, std::uint32_t>> seen(p.pattern_spikes.begin(),
                                                          p.pattern_spikes.end());
    for (std::uint32_t ch = 0; ch < 100; ++ch) {
      for (double time : gen.pattern(0)[ch]) {
        const auto low =
            static_cast<std::int64_t>(std::floor(time * static_cast<double>(p.length) / 300.0));
        const auto high =
            static_cast<std::int64_t>(std::floor(time * static_cast<double>(p.length + 1) / 300.0));
        if (high >= p.length) continue;  // may fall past the warped end: dropped or not
        bool found = false;
        for (auto s = low; s <= high; ++s) found |= seen.contains({s, ch});
        EXPECT_TRUE(found) << "channel " << ch << " time " << time << " length " << p.length;
      }
    }
  }
  EXPECT_GT(lengths.size(), 10u);
}

TEST(InputGenerator, ModesChooseSequencesAsSpecified) {
  // alternating: 0, 1, 0, 1, ...
  {
    const Config c = seqlearn::make_config({{"input.n_patterns", "2"},
                                            {"input.pattern_sequences", "0;1"},
                                            {"input.pattern_mode", "alternating"}});
    const Trace t = generate(c, 50000);
    ASSERT_GT(t.presentations.size(), 20u);
    for (std::size_t i = 0; i < t.presentations.size(); ++i) {
      EXPECT_EQ(t.presentations[i].sequence, static_cast<int>(i % 2));
      EXPECT_EQ(t.presentations[i].pattern, static_cast<int>(i % 2));
    }
  }
  // random_switching: switches with probability p_switch.
  for (double p_switch : {0.0, 0.3}) {
    const Config c = seqlearn::make_config({{"input.n_patterns", "2"},
                                            {"input.pattern_sequences", "0;1"},
                                            {"input.p_switch", std::to_string(p_switch)}});
    const Trace t = generate(c, 400000);
    double switches = 0;
    for (std::size_t i = 1; i < t.presentations.size(); ++i)
      switches += t.presentations[i].sequence != t.presentations[i - 1].sequence;
    expect_binomial(switches, static_cast<double>(t.presentations.size() - 1), p_switch,
                    "switches");
  }
  // random_independent with given probabilities.
  {
    const Config c = seqlearn::make_config({{"input.n_patterns", "2"},
                                            {"input.pattern_sequences", "0;1"},
                                            {"input.pattern_mode", "random_independent"},
                                            {"input.sequence_probs", "0.2,0.8"}});
    const Trace t = generate(c, 400000);
    double ones = 0;
    for (const auto& p : t.presentations) ones += p.sequence == 1;
    expect_binomial(ones, static_cast<double>(t.presentations.size()), 0.8, "sequence 1");
  }
}

TEST(InputGenerator, SequencesPlayTheirPatternsBackToBack) {
  const Config c = seqlearn::make_config({{"input.n_patterns", "3"},
                                          {"input.t_pattern", "100,200,150"},
                                          {"input.pattern_sequences", "0,1;2"},
                                          {"input.pattern_mode", "alternating"}});
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, {});
  gen.start_phase(c.train_input);
  InputStep in;
  std::vector<std::pair<int, int>> runs;  // (pattern id, length)
  for (std::int64_t s = 0; s < 20000; ++s) {
    gen.generate(s, in);
    if (runs.empty() || runs.back().first != in.pattern_id) runs.emplace_back(in.pattern_id, 0);
    ++runs.back().second;
  }
  runs.pop_back();
  // noise, 0 (100), 1 (200), noise, 2 (150), noise, 0, 1, ...
  ASSERT_GT(runs.size(), 10u);
  EXPECT_EQ(runs[0].first, -1);
  for (std::size_t i = 1; i + 2 < runs.size(); i += 1) {
    if (runs[i].first == 0) {
      EXPECT_EQ(runs[i].second, 100);
      EXPECT_EQ(runs[i + 1].first, 1);
      EXPECT_EQ(runs[i + 1].second, 200);
      EXPECT_EQ(runs[i + 2].first, -1);
    } else if (runs[i].first == 2) {
      EXPECT_EQ(runs[i].second, 150);
      EXPECT_EQ(runs[i + 1].first, -1);
    }
  }
}

TEST(InputGenerator, NoNoiseMeansSilentNoisePhasesAndNoOverlay) {
  const Config c = seqlearn::make_config({{"input.use_noise", "false"}});
  const Trace t = generate(c, 50000);
  EXPECT_EQ(t.noise_spikes, 0u);
  EXPECT_EQ(t.overlay_spikes, 0u);
  EXPECT_GT(t.pattern_only, 1000u);
}

TEST(InputGenerator, SameSeedSameInputDifferentSeedDifferentInput) {
  auto spikes = [](std::uint32_t seed) {
    Config c = seqlearn::make_config({{"run.seed", std::to_string(seed)}});
    seqlearn::CounterRng rng(c.seed);
    InputGenerator gen(c, rng, {});
    gen.start_phase(c.train_input);
    InputStep in;
    std::vector<std::uint64_t> all;
    for (std::int64_t s = 0; s < 3000; ++s) {
      gen.generate(s, in);
      for (auto ch : in.channels) all.push_back(static_cast<std::uint64_t>(s) * 1000 + ch);
    }
    return all;
  };
  EXPECT_EQ(spikes(3), spikes(3));
  EXPECT_NE(spikes(3), spikes(4));
}

// issue 9 D5: a checkpoint taken inside a presentation of sequence 1 (of "0;1", random
// switching) continues with input.pattern_sequences changed, as a restore allows. The
// presentation continues when it is still the same one (same pattern at that position),
// and otherwise ends there (noise, then a sequence chosen afresh); never an invalid index.
TEST(InputGenerator, ResumeAfterTheSequencesChanged) {
  const Config before = seqlearn::make_config(
      {{"input.n_patterns", "2"}, {"input.pattern_sequences", "0;1"}, {"input.p_switch", "0.5"}});
  seqlearn::CounterRng rng(before.seed);
  InputGenerator gen(before, rng, {});
  gen.start_phase(before.train_input);
  InputStep in;
  std::int64_t step = 0;
  for (; step < 1000000; ++step) {
    gen.generate(step, in);
    if (in.sequence_id == 1 && gen.state().position.integer("remaining") > 10) break;
  }
  ASSERT_EQ(in.sequence_id, 1) << "no presentation of sequence 1 found";
  const InputGenerator::State state = gen.state();
  InputStep continued;
  gen.generate(step + 1, continued);  // the uninterrupted next step

  struct Case {
    const char* sequences;
    int pattern_next;  // the pattern at the next step: the same presentation, or noise
  };
  for (const Case& c : {Case{"1;0", -1},    // sequence 1 is now pattern 0: ends
                        Case{"0", -1},      // sequence 1 is gone: ends
                        Case{"0;1", 1},     // unchanged: continues
                        Case{"1;1", 1}}) {  // the same pattern at that position: continues
    const Config after = seqlearn::make_config({{"input.n_patterns", "2"},
                                                {"input.pattern_sequences", c.sequences},
                                                {"input.p_switch", "0.5"}});
    InputGenerator resumed(after, rng, {});
    resumed.resume(after.train_input, state);
    InputStep out;
    resumed.generate(step + 1, out);
    EXPECT_EQ(out.pattern_id, c.pattern_next) << c.sequences;
    if (c.pattern_next >= 0) {
      EXPECT_EQ(out.channels, continued.channels) << c.sequences;
      EXPECT_EQ(out.sequence_id, 1) << c.sequences;
    }
    // It runs on through later presentations, every label valid for the new sequences.
    for (std::int64_t s = step + 2; s < step + 20000; ++s) {
      resumed.generate(s, out);
      ASSERT_LT(out.sequence_id, static_cast<int>(after.sequences.size())) << c.sequences;
      ASSERT_LT(out.pattern_id, 2) << c.sequences;
    }
  }
}

// The vectorised draw of M5's uniforms (CounterRng::uniforms, Philox4x32-10 written out) gives
// the same bits as Random123's generator entity by entity, for entities and counters beyond
// 32 bits too, and for seeds whose key words carry (the Weyl increments wrap at 2^32).
TEST(CounterRng, UniformsForManyEntitiesEqualOneByOne) {
  for (const std::uint32_t seed : {4242u, 0xFFFFFFFFu})
    for (const std::uint64_t first :
         {std::uint64_t{0}, std::uint64_t{12345}, (std::uint64_t{1} << 32) - 3}) {
      for (const std::uint64_t counter :
           {std::uint64_t{0}, std::uint64_t{99}, std::uint64_t{1} << 40}) {
        const seqlearn::CounterRng rng(seed);
        std::vector<double> many(37);
        rng.uniforms(seqlearn::Purpose::neuron_spike, first, many.size(), counter, many.data());
        for (std::size_t i = 0; i < many.size(); ++i) {
          const double one = rng.uniform(seqlearn::Purpose::neuron_spike, first + i, counter);
          ASSERT_EQ(std::bit_cast<std::uint64_t>(many[i]), std::bit_cast<std::uint64_t>(one))
              << "entity " << first + i << ", counter " << counter;
          ASSERT_GT(many[i], 0.0);
          ASSERT_LT(many[i], 1.0);
        }
      }
    }
}
