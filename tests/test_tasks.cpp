// The input tasks besides `pattern` (docs/model.md 11.2) and the per-phase choice of task in
// run.protocol: the xor generator (windows in lockstep, switching probability, first window,
// labels, frozen patterns confined to their half), the file task (exact and cyclic replay,
// labels, CSV and HDF5 alike, bad files named by their key), protocol parsing. Statistical
// tolerances are 5 standard deviations of the counts involved.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/hdf5_file.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/input_task.hpp"
#include "seqlearn/rng.hpp"

using seqlearn::Config;
using seqlearn::ConfigError;
using seqlearn::InputGenerator;
using seqlearn::InputStep;
using seqlearn::make_config;

namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

std::string error_of(const Overrides& overrides) {
  try {
    make_config(overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The steps [first, first + steps) of one phase of the config's first phase's settings.
std::vector<InputStep> run_phase(const Config& c, std::int64_t first, std::int64_t steps) {
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, seqlearn::load_input_files(c));
  gen.start_phase(c.input_settings(c.protocol.front()));
  std::vector<InputStep> out(static_cast<std::size_t>(steps));
  for (std::int64_t s = 0; s < steps; ++s)
    gen.generate(first + s, out[static_cast<std::size_t>(s)]);
  return out;
}

Config xor_config(Overrides extra = {}) {
  extra.emplace_back("run.protocol", "train:1000:xor");
  return make_config(extra);
}

void expect_binomial(double count, double trials, double p, const std::string& what) {
  const double sd = std::sqrt(trials * p * (1 - p));
  EXPECT_NEAR(count, trials * p, 5 * sd + 1) << what;
}

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/seqlearn_tasks_" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

// --- xor ------------------------------------------------------------------------------------

TEST(XorTask, WindowsInLockstepFromThePhaseStart) {
  const Config c = xor_config();
  const std::int64_t first = 1237;  // a phase starts at any step: windows count from there
  const auto steps = run_phase(c, first, 20000);
  std::int64_t changes[2] = {0, 0};
  for (std::size_t s = 1; s < steps.size(); ++s) {
    const bool window_start = s % 50 == 0;
    for (int stream = 0; stream < 2; ++stream) {
      const int now = stream == 0 ? steps[s].pattern_id : steps[s].pattern_id_2;
      const int before = stream == 0 ? steps[s - 1].pattern_id : steps[s - 1].pattern_id_2;
      ASSERT_TRUE(now == 0 || now == 1) << "step " << s;
      if (!window_start) {
        ASSERT_EQ(now, before) << "a label changed inside a window, step " << s;
      }
      changes[stream] += now != before;
    }
    EXPECT_EQ(steps[s].sequence_id, -1);
  }
  // 399 window starts after the first, p_switch 0.5.
  for (int stream = 0; stream < 2; ++stream)
    expect_binomial(static_cast<double>(changes[stream]), 399, 0.5, "switches of a half");
}

TEST(XorTask, SwitchFrequencyIsPSwitchPerWindowAndHalf) {
  for (const double p : {0.0, 0.2, 0.5, 0.9, 1.0}) {
    const Config c =
        xor_config({{"input.p_switch", std::to_string(p)}, {"input.use_noise", "false"}});
    const auto steps = run_phase(c, 0, 50 * 4001);
    double switches[2] = {0, 0};
    for (std::size_t s = 50; s < steps.size(); s += 50) {
      switches[0] += steps[s].pattern_id != steps[s - 1].pattern_id;
      switches[1] += steps[s].pattern_id_2 != steps[s - 1].pattern_id_2;
    }
    for (double count : switches) expect_binomial(count, 4000, p, "p_switch " + std::to_string(p));
    if (p == 0.0) {
      EXPECT_EQ(switches[0] + switches[1], 0);
    }
    if (p == 1.0) {
      EXPECT_EQ(switches[0] + switches[1], 8000);
    }
    // The halves switch independently: both switch in about p^2 of the windows.
    double both = 0;
    for (std::size_t s = 50; s < steps.size(); s += 50)
      both += steps[s].pattern_id != steps[s - 1].pattern_id &&
              steps[s].pattern_id_2 != steps[s - 1].pattern_id_2;
    expect_binomial(both, 4000, p * p, "both halves switch");
  }
}

TEST(XorTask, FirstWindowIsUniformAndEveryPhaseDrawsAfresh) {
  const Config c = xor_config({{"input.use_noise", "false"}});
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, seqlearn::load_input_files(c));
  double ones[2] = {0, 0}, xor_true = 0;
  const int phases = 4000;
  InputStep in;
  for (int phase = 0; phase < phases; ++phase) {
    gen.start_phase(c.input_settings(c.protocol.front()));
    gen.generate(static_cast<std::int64_t>(phase) * 977, in);
    ones[0] += in.pattern_id;
    ones[1] += in.pattern_id_2;
    xor_true += in.pattern_id != in.pattern_id_2;
  }
  expect_binomial(ones[0], phases, 0.5, "half 1's first id");
  expect_binomial(ones[1], phases, 0.5, "half 2's first id");
  expect_binomial(xor_true, phases, 0.5, "first windows whose ids differ");
}

TEST(XorTask, SpikesAreTheFrozenPatternsOfTheLabelsInTheirHalves) {
  const Config c = xor_config({{"network.n_inputs", "60"}});
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, seqlearn::load_input_files(c));
  const auto& task = gen.built<seqlearn::XorTask>("xor");
  ASSERT_EQ(task.window_steps(), 50);
  // The expected (step in window, channel) of each pattern; each confined to its half.
  std::set<std::pair<std::int64_t, std::uint32_t>> expected[2][2];
  for (int half = 0; half < 2; ++half)
    for (int id = 0; id < 2; ++id) {
      double n_times = 0;
      for (std::uint32_t ch = 0; ch < 60; ++ch)
        for (double t : task.pattern(half, id)[ch]) {
          EXPECT_EQ(ch >= 30, half == 1) << "a spike of half " << half << " on channel " << ch;
          EXPECT_GE(t, 0);
          EXPECT_LT(t, 50);
          expected[half][id].emplace(static_cast<std::int64_t>(std::floor(t)), ch);
          ++n_times;
        }
      // 30 channels at 5 Hz over 50 ms: about 7.5 spikes.
      EXPECT_NEAR(n_times, 7.5, 5 * std::sqrt(7.5) + 1);
    }
  // The four patterns differ from each other (a 1 in 10^6 coincidence for empty pairs aside).
  EXPECT_NE(expected[0][0], expected[0][1]);
  EXPECT_NE(expected[1][0], expected[1][1]);
  const auto steps = run_phase(c, 500, 50 * 400);
  double overlay = 0, free_channel_steps = 0;
  for (std::size_t w = 0; w < 400; ++w) {
    std::set<std::pair<std::int64_t, std::uint32_t>> seen[2];
    const int id1 = steps[w * 50].pattern_id, id2 = steps[w * 50].pattern_id_2;
    for (std::size_t k = 0; k < 50; ++k) {
      const InputStep& in = steps[w * 50 + k];
      EXPECT_EQ(in.pattern_id, id1);
      EXPECT_EQ(in.pattern_id_2, id2);
      for (std::size_t i = 0; i < in.channels.size(); ++i) {
        if (i > 0) {
          EXPECT_LT(in.channels[i - 1], in.channels[i]) << "channels ascending";
        }
        if (in.from_pattern[i])
          seen[in.channels[i] >= 30 ? 1 : 0].emplace(static_cast<std::int64_t>(k), in.channels[i]);
        else
          ++overlay;
      }
    }
    EXPECT_EQ(seen[0], expected[0][id1]) << "window " << w;
    EXPECT_EQ(seen[1], expected[1][id2]) << "window " << w;
    free_channel_steps += 60 * 50 - static_cast<double>(seen[0].size() + seen[1].size());
  }
  expect_binomial(overlay, free_channel_steps, 1 - std::exp(-2e-3), "2 Hz overlay");
}

TEST(XorTask, PatternsDifferFromThePatternTasksAndFollowTheSeed) {
  const Config c = xor_config({{"input.t_pattern", "50"}});
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, seqlearn::load_input_files(c));
  // Pattern 0 of the pattern task, 50 ms as well, against the xor patterns of each half.
  for (int half = 0; half < 2; ++half)
    for (int id = 0; id < 2; ++id) {
      std::size_t same = 0, total = 0;
      for (std::uint32_t ch = 0; ch < 100; ++ch) {
        const auto& a = gen.built<seqlearn::XorTask>("xor").pattern(half, id)[ch];
        if (a.empty()) continue;
        ++total;
        same += a == gen.pattern(0)[ch];
      }
      EXPECT_GT(total, 5u);
      EXPECT_EQ(same, 0u) << "xor pattern (" << half << ", " << id
                          << ") repeats the pattern task's";
    }
  const Config other = xor_config({{"run.seed", "2"}});
  seqlearn::CounterRng rng2(other.seed);
  InputGenerator gen2(other, rng2, seqlearn::load_input_files(other));
  std::size_t differ = 0;
  for (std::uint32_t ch = 0; ch < 100; ++ch)
    differ += gen.built<seqlearn::XorTask>("xor").pattern(ch < 50 ? 0 : 1, 0)[ch] !=
              gen2.built<seqlearn::XorTask>("xor").pattern(ch < 50 ? 0 : 1, 0)[ch];
  EXPECT_GT(differ, 5u);
}

TEST(XorTask, ResumeContinuesMidWindowBitIdentically) {
  const Config c = xor_config({{"input.p_switch", "0.3"}});
  const auto settings = c.input_settings(c.protocol.front());
  const auto whole = run_phase(c, 100, 1000);
  seqlearn::CounterRng rng(c.seed);
  InputGenerator first(c, rng, seqlearn::load_input_files(c));
  first.start_phase(settings);
  InputStep in;
  for (std::int64_t s = 0; s < 623; ++s) first.generate(100 + s, in);
  const auto state = first.state();
  EXPECT_EQ(state.task, "xor");
  EXPECT_EQ(state.position.integer("xor_position"), 23);
  InputGenerator second(c, rng, seqlearn::load_input_files(c));
  second.resume(settings, state);
  for (std::int64_t s = 623; s < 1000; ++s) {
    second.generate(100 + s, in);
    const InputStep& want = whole[static_cast<std::size_t>(s)];
    ASSERT_EQ(in.channels, want.channels) << s;
    ASSERT_EQ(in.from_pattern, want.from_pattern) << s;
    ASSERT_EQ(in.pattern_id, want.pattern_id) << s;
    ASSERT_EQ(in.pattern_id_2, want.pattern_id_2) << s;
  }
}

// --- file -----------------------------------------------------------------------------------

namespace {

// A small file: spikes (step, channel) and labels per step, written as CSV (+ labels) and as
// HDF5.
struct SmallFile {
  std::vector<std::pair<std::int64_t, std::int64_t>> spikes{{0, 3}, {0, 1}, {2, 7}, {2, 7},
                                                            {5, 0}, {9, 9}, {9, 2}};
  std::vector<std::int32_t> labels{4, 4, -1, 0, 0, 0, -1, -1, 2, 2};  // 10 steps
};

std::pair<std::string, std::string> write_csv(const SmallFile& f, const std::string& name) {
  std::string spikes = "step,channel\n";
  for (const auto& [s, c] : f.spikes) spikes += std::to_string(s) + "," + std::to_string(c) + "\n";
  std::string labels = "step,label\n";
  for (std::size_t s = 0; s < f.labels.size(); ++s)
    if (f.labels[s] != -1) labels += std::to_string(s) + "," + std::to_string(f.labels[s]) + "\n";
  return {temp_file(name + ".csv", spikes), temp_file(name + "_labels.csv", labels)};
}

std::string write_hdf5(const SmallFile& f, const std::string& name, bool with_dt = true) {
  const std::string path = testing::TempDir() + "/seqlearn_tasks_" + name + ".h5";
  auto comm = seqlearn::make_local_communicator();
  seqlearn::H5File file(path, *comm);
  std::vector<std::int64_t> steps;
  std::vector<std::uint64_t> channels;
  for (const auto& [s, c] : f.spikes) {
    steps.push_back(s);
    channels.push_back(static_cast<std::uint64_t>(c));
  }
  file.create_group("/spikes");
  file.write_rows("/spikes/step", steps, 0, steps.size());
  file.write_rows("/spikes/channel", channels, 0, channels.size());
  file.write_rows("/labels", f.labels, 0, f.labels.size());
  file.attribute("/", "n_steps", static_cast<std::int64_t>(f.labels.size()));
  if (with_dt) file.attribute("/", "dt", 1.0);
  file.close();
  return path;
}

Config file_config(const std::string& path, const std::string& labels, Overrides extra = {}) {
  Overrides values{{"run.protocol", "test:100:file"},
                   {"input.file", path},
                   {"input.label_file", labels},
                   {"network.n_inputs", "10"}};
  values.insert(values.end(), extra.begin(), extra.end());
  return make_config(values);
}

// The file's step s as the generator must replay it.
void expect_replay(const std::vector<InputStep>& steps, const SmallFile& f) {
  const auto n = static_cast<std::int64_t>(f.labels.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::int64_t s = static_cast<std::int64_t>(i) % n;
    std::set<std::uint32_t> want;
    for (const auto& [step, channel] : f.spikes)
      if (step == s) want.insert(static_cast<std::uint32_t>(channel));
    EXPECT_EQ(std::vector<std::uint32_t>(want.begin(), want.end()), steps[i].channels) << i;
    EXPECT_EQ(steps[i].from_pattern, std::vector<std::uint8_t>(want.size(), 1)) << i;
    EXPECT_EQ(steps[i].pattern_id, f.labels[static_cast<std::size_t>(s)]) << i;
    EXPECT_EQ(steps[i].pattern_id_2, -1);
    EXPECT_EQ(steps[i].sequence_id, -1);
  }
}

std::string load_error(const std::string& path, const std::string& labels, int n_inputs = 10,
                       double dt = 1.0) {
  try {
    seqlearn::load_input_file(path, labels, n_inputs, dt);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(FileTask, CsvReplaysExactlyAndCyclically) {
  const SmallFile f;
  const auto [spikes, labels] = write_csv(f, "replay");
  const Config c = file_config(spikes, labels);
  const auto steps = run_phase(c, 345, 35);  // 3.5 times the file, from any phase start
  expect_replay(steps, f);
  const auto loaded = seqlearn::load_input_file(spikes, labels, 10, 1.0);
  EXPECT_EQ(loaded.n_steps, 10);
  // Without labels the file lasts to its last spike: 10 steps, every label -1.
  const auto unlabelled = seqlearn::load_input_file(spikes, "", 10, 1.0);
  EXPECT_EQ(unlabelled.n_steps, 10);
}

TEST(FileTask, HdfAndCsvGiveTheSameInput) {
  const SmallFile f;
  const auto [spikes, labels] = write_csv(f, "same");
  const std::string h5 = write_hdf5(f, "same");
  const auto from_csv = run_phase(file_config(spikes, labels), 0, 25);
  const auto from_h5 = run_phase(file_config(h5, ""), 0, 25);
  expect_replay(from_h5, f);
  for (std::size_t i = 0; i < from_csv.size(); ++i) {
    EXPECT_EQ(from_csv[i].channels, from_h5[i].channels);
    EXPECT_EQ(from_csv[i].pattern_id, from_h5[i].pattern_id);
  }
}

TEST(FileTask, ResumeContinuesAndWrapsOnAShorterFile) {
  const SmallFile f;
  const auto [spikes, labels] = write_csv(f, "resume");
  const Config c = file_config(spikes, labels);
  const auto settings = c.input_settings(c.protocol.front());
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, seqlearn::load_input_files(c));
  gen.start_phase(settings);
  InputStep in;
  for (int s = 0; s < 17; ++s) gen.generate(s, in);
  auto state = gen.state();
  EXPECT_EQ(state.task, "file");
  EXPECT_EQ(state.position.integer("file_position"), 7);
  InputGenerator again(c, rng, seqlearn::load_input_files(c));
  again.resume(settings, state);
  std::vector<InputStep> rest(13);
  for (int s = 0; s < 13; ++s) again.generate(17 + s, rest[static_cast<std::size_t>(s)]);
  const auto whole = run_phase(c, 0, 30);
  for (int s = 0; s < 13; ++s) {
    EXPECT_EQ(rest[static_cast<std::size_t>(s)].channels,
              whole[static_cast<std::size_t>(17 + s)].channels);
    EXPECT_EQ(rest[static_cast<std::size_t>(s)].pattern_id,
              whole[static_cast<std::size_t>(17 + s)].pattern_id);
  }
  // Beyond this file (input.file may change on a restore): wraps.
  state.position.set_integer("file_position", 23);
  InputGenerator wrapped(c, rng, seqlearn::load_input_files(c));
  wrapped.resume(settings, state);
  wrapped.generate(0, in);
  EXPECT_EQ(in.pattern_id, f.labels[3]);
}

TEST(FileTask, BadFilesNameTheirKey) {
  const SmallFile f;
  const auto [spikes, labels] = write_csv(f, "bad");
  // channel >= network.n_inputs
  std::string e = load_error(spikes, labels, 9);
  EXPECT_NE(e.find("input.file"), std::string::npos) << e;
  EXPECT_NE(e.find("channel 9"), std::string::npos) << e;
  EXPECT_NE(e.find("network.n_inputs"), std::string::npos) << e;
  // negative step
  e = load_error(temp_file("negative.csv", "step,channel\n3,1\n-2,1\n"), "");
  EXPECT_NE(e.find("input.file"), std::string::npos) << e;
  EXPECT_NE(e.find("step -2 is negative"), std::string::npos) << e;
  // missing file
  e = load_error(spikes + ".missing", "");
  EXPECT_NE(e.find("cannot read input.file"), std::string::npos) << e;
  e = load_error(spikes, labels + ".missing");
  EXPECT_NE(e.find("cannot read input.label_file"), std::string::npos) << e;
  // malformed CSV
  e = load_error(temp_file("malformed.csv", "step,channel\n1,2\n3;4\n"), "");
  EXPECT_NE(e.find("input.file"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  e = load_error(temp_file("malformed2.csv", "1,2\n3,x\n"), "");
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  e = load_error(spikes, temp_file("labels_bad.csv", "step,label\n1,-5\n"));
  EXPECT_NE(e.find("input.label_file"), std::string::npos) << e;
  e = load_error(spikes, temp_file("labels_twice.csv", "1,2\n1,3\n"));
  EXPECT_NE(e.find("two labels"), std::string::npos) << e;
  // empty
  e = load_error(temp_file("empty.csv", "step,channel\n"), "");
  EXPECT_NE(e.find("no spikes and no labels"), std::string::npos) << e;
  // HDF5: a label file does not go with it; dt must match neuron.dt; channels checked
  const std::string h5 = write_hdf5(f, "bad");
  e = load_error(h5, labels);
  EXPECT_NE(e.find("input.label_file"), std::string::npos) << e;
  e = load_error(h5, "", 10, 0.5);
  EXPECT_NE(e.find("attribute dt"), std::string::npos) << e;
  e = load_error(h5, "", 5);
  EXPECT_NE(e.find("input.file"), std::string::npos) << e;
  EXPECT_NE(e.find("channel"), std::string::npos) << e;
  // No input channels at all; a file named .h5 that is not HDF5 (hostile test of issue 11: it
  // was read as CSV, "no spikes and no labels").
  e = load_error(spikes, labels, 0);
  EXPECT_NE(e.find("the network has no input channels (network.n_inputs = 0)"), std::string::npos)
      << e;
  e = load_error(temp_file("truncated.h5", "step,channel\n1,2\n"), "");
  EXPECT_NE(e.find("named like an HDF5 file but not one"), std::string::npos) << e;
  EXPECT_NE(e.find("input.file"), std::string::npos) << e;
  // The file task without input.file, at configuration time.
  e = error_of({{"run.protocol", "train:100,test:100:file"}});
  EXPECT_NE(e.find("input.file"), std::string::npos) << e;
  EXPECT_EQ(error_of({{"run.protocol", "train:100,test:100:xor"}}), "");
}

TEST(FileTask, LoadingTheGeneratorsFilesChecksThem) {
  const SmallFile f;
  const auto [spikes, labels] = write_csv(f, "ctor");
  const Config c = file_config(spikes, labels, {{"network.n_inputs", "5"}});
  EXPECT_THROW(seqlearn::load_input_files(c), ConfigError);
}

// --- protocol -------------------------------------------------------------------------------

// The registry: the built-in tasks first, in the order of /checkpoint:generator_task (0 pattern,
// 1 xor, 2 file, 3 multi: checkpoints of every version keep loading), each with its keys in the
// option table and its position fields.
TEST(TaskRegistry, BuiltInTasksInCheckpointOrderWithTheirKeysAndFields) {
  const auto names = seqlearn::input_tasks().names();
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 4),
            (std::vector<std::string>{"pattern", "xor", "file", "multi"}));
  const Config c = make_config({});
  for (const char* key : {"input.t_pattern_xor", "input.multi_groups", "input.multi_rate_range",
                          "input.t_multi_window"})
    EXPECT_EQ(seqlearn::unit_of_key(key).empty(), std::string(key) == "input.multi_groups") << key;
  EXPECT_EQ(seqlearn::option_text(c, "input.multi_rate_range"), "10,80");
  EXPECT_EQ(seqlearn::real_pair_option(c, "input.multi_rate_range"), std::make_pair(10.0, 80.0));
  EXPECT_EQ(seqlearn::integer_option(c, "input.multi_groups"), 2);
  // A pattern-only run builds pattern, xor and file (their fields are in every checkpoint), not
  // multi, whose field is written only by runs with multi phases.
  seqlearn::CounterRng rng(c.seed);
  InputGenerator gen(c, rng, {});
  gen.start_phase(c.train_input);
  const auto state = gen.state();
  std::set<std::string> fields;
  for (const auto& [name, value] : state.position.values) fields.insert(name);
  EXPECT_EQ(fields,
            (std::set<std::string>{"event", "in_pattern", "first_sequence", "remaining", "position",
                                   "sequence", "sequence_position", "warp", "pattern",
                                   "xor_position", "xor_id_1", "xor_id_2", "file_position"}));
  EXPECT_TRUE(std::holds_alternative<double>(state.position.values.at("warp")));
  EXPECT_THROW(gen.built<seqlearn::MultiTask>("multi"), std::logic_error);
}

TEST(Protocol, PhasesNameTheirTask) {
  const Config c =
      make_config({{"run.protocol", "train:5000,test:3000,test:50000:xor,test:3000:xor"}});
  ASSERT_EQ(c.protocol.size(), 4u);
  EXPECT_FALSE(c.protocol[0].task.has_value());
  EXPECT_EQ(c.input_settings(c.protocol[0]).task, "pattern");
  EXPECT_EQ(c.input_settings(c.protocol[1]).task, "pattern");
  EXPECT_EQ(c.input_settings(c.protocol[2]).task, "xor");
  EXPECT_EQ(c.protocol[2].steps, 50000);
  EXPECT_FALSE(c.protocol[2].learning);
  EXPECT_EQ(c.input_settings(c.protocol[3]).task, "xor");
  EXPECT_TRUE(c.uses_task("xor"));
  EXPECT_FALSE(c.uses_task("file"));
  EXPECT_EQ(c.resolved_protocol_text(), "train:5000,test:3000,test:50000:xor,test:3000:xor");
}

TEST(Protocol, InputTaskAndTestTaskAreTheDefaults) {
  Config c =
      make_config({{"input.task", "xor"}, {"run.protocol", "train:100,test:100,test:100:pattern"}});
  EXPECT_EQ(c.input_settings(c.protocol[0]).task, "xor");
  EXPECT_EQ(c.input_settings(c.protocol[1]).task, "xor");  // test.task inherits
  EXPECT_EQ(c.input_settings(c.protocol[2]).task, "pattern");
  c = make_config(
      {{"input.task", "xor"}, {"test.task", "pattern"}, {"run.protocol", "train:100,test:100"}});
  EXPECT_EQ(c.input_settings(c.protocol[0]).task, "xor");
  EXPECT_EQ(c.input_settings(c.protocol[1]).task, "pattern");
  const Config d = make_config({});
  EXPECT_EQ(d.train_input.task, "pattern");
  EXPECT_EQ(d.test_input.task, "pattern");
  EXPECT_EQ(seqlearn::real_option(d, "input.t_pattern_xor"), 50.0);
  EXPECT_EQ(seqlearn::steps_option(d, "input.t_pattern_xor"), 50);
  EXPECT_EQ(
      seqlearn::steps_option(make_config({{"input.t_pattern_xor", "30"}, {"neuron.dt", "0.5"}}),
                             "input.t_pattern_xor"),
      60);
}

TEST(Protocol, RepeatGroupsExpand) {
  const Config c = make_config(
      {{"run.protocol", "test:3000,(train:5000,test:3000,test:50000:xor,test:3000:xor)*20"}});
  ASSERT_EQ(c.protocol.size(), 81u);
  EXPECT_EQ(c.protocol[0].kind, seqlearn::PhaseKind::test);
  for (int r = 0; r < 20; ++r) {
    const auto& train = c.protocol[static_cast<std::size_t>(1 + 4 * r)];
    EXPECT_EQ(train.kind, seqlearn::PhaseKind::train);
    EXPECT_EQ(train.steps, 5000);
    EXPECT_EQ(c.input_settings(c.protocol[static_cast<std::size_t>(3 + 4 * r)]).task, "xor");
    EXPECT_EQ(c.protocol[static_cast<std::size_t>(3 + 4 * r)].steps, 50000);
  }
  EXPECT_EQ(c.total_steps(), 3000 + 20 * 61000);
  // Nested groups and spaces.
  const Config n = make_config({{"run.protocol", " ( (train:10)*2 , test:5:xor )*3 ,test:1"}});
  ASSERT_EQ(n.protocol.size(), 10u);
  EXPECT_EQ(n.protocol[2].steps, 5);
  EXPECT_EQ(n.input_settings(n.protocol[2]).task, "xor");
  EXPECT_EQ(n.protocol[9].steps, 1);
}

// A checkpoint stores the remaining protocol as text in an attribute (at most 64 KiB): repeated
// blocks are written back as repeat groups, which parse to the same phases.
TEST(Protocol, TextWithRepeatGroupsParsesToTheSamePhases) {
  EXPECT_EQ(seqlearn::join_with_repeat_groups({"a", "b", "a", "b", "a", "b", "c"}), "(a,b)*3,c");
  EXPECT_EQ(seqlearn::join_with_repeat_groups({"a", "a", "b"}), "(a)*2,b");
  EXPECT_EQ(seqlearn::join_with_repeat_groups({"a", "b", "c"}), "a,b,c");
  EXPECT_EQ(seqlearn::join_with_repeat_groups({}), "");
  const std::string source =
      "test:3000,test:50000:xor,test:3000:xor,(train:5000,test:3000,test:50000:xor,"
      "test:3000:xor)*20,train:7,(train:1,test:2)*3";
  const Config c = make_config({{"run.protocol", source}});
  const std::string text = c.protocol_text();
  EXPECT_LT(text.size(), source.size() + 20);
  const Config again = make_config({{"run.protocol", text}});
  EXPECT_EQ(again.protocol, c.protocol);
  for (std::size_t first : {1u, 2u, 5u, 80u})
    EXPECT_EQ(make_config({{"run.protocol", c.protocol_text(first)}}).protocol,
              std::vector<seqlearn::Phase>(c.protocol.begin() + first, c.protocol.end()));
  // 9000 different phases cannot be written short enough: refused before anything runs.
  std::string long_protocol;
  for (int i = 1; i <= 9000; ++i)
    long_protocol += (i > 1 ? ",train:" : "train:") + std::to_string(i);
  try {
    (void)make_config({{"run.protocol", long_protocol}});
    ADD_FAILURE() << "a protocol a checkpoint cannot hold was accepted";
  } catch (const seqlearn::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("for run.protocol: a protocol a checkpoint can hold"),
              std::string::npos)
        << error.what();
  }
  // (train:10)*9000 is short.
  EXPECT_EQ(make_config({{"run.protocol", "(train:10)*9000"}}).protocol_text(), "(train:10)*9000");
}

TEST(Protocol, BadTasksAndGroupsNameRunProtocol) {
  for (const std::string protocol :
       {"test:100:foo", "test:100:", "test:100:xor:1", "(train:100)", "(train:100)*0",
        "(train:100)*x", "(train:100*2", "train:100)*2", "()*2",
        "((((((((((train:1)*2)*2)*2)*2)*2)*2)*2)*2)*2)*2", "(train:1)*2000000"}) {
    const std::string e = error_of({{"run.protocol", protocol}});
    EXPECT_NE(e.find("run.protocol"), std::string::npos) << protocol << ": " << e;
  }
  EXPECT_NE(error_of({{"run.protocol", "test:100:foo"}}).find("unknown task 'foo'"),
            std::string::npos);
  EXPECT_NE(error_of({{"input.task", "speech"}}).find("input.task"), std::string::npos);
  EXPECT_NE(error_of({{"test.task", "speech"}}).find("test.task"), std::string::npos);
  EXPECT_NE(
      error_of({{"input.t_pattern_xor", "2.5"}, {"neuron.dt", "2"}}).find("input.t_pattern_xor"),
      std::string::npos);
  EXPECT_NE(error_of({{"input.t_pattern_xor", "0"}}).find("input.t_pattern_xor"),
            std::string::npos);
}
