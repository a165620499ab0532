// Configuration: defaults are the thesis's full-scale experiment; every bad value is an error
// naming its key and what is allowed.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/forced_spikes.hpp"
#include "seqlearn/text.hpp"

using seqlearn::Config;
using seqlearn::ConfigError;
using seqlearn::make_config;

namespace {

// The message of the ConfigError that `overrides` raise ("" if none).
std::string error_of(const std::vector<std::pair<std::string, std::string>>& overrides) {
  try {
    make_config(overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

seqlearn::Invocation parse(std::vector<std::string> args) {
  args.insert(args.begin(), "seqlearn_mpi");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return seqlearn::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST(Config, DefaultsAreTheFullScaleExperiment) {
  const Config c = make_config({});
  EXPECT_EQ(c.rows, 10);
  EXPECT_EQ(c.cols, 5);
  EXPECT_EQ(c.k_min, 2);
  EXPECT_EQ(c.k_max, 10);
  EXPECT_EQ(c.n_inputs, 100);
  EXPECT_EQ(c.connectivity, seqlearn::Connectivity::km2013);
  EXPECT_EQ(c.schedule, "variance_tracking");
  EXPECT_TRUE(c.use_stp);
  EXPECT_EQ(c.t_pattern_ms, std::vector<double>{300.0});
  EXPECT_EQ(c.train_input.t_noise_min_ms, 300.0);
  EXPECT_EQ(c.train_input.t_noise_max_ms, 500.0);
  EXPECT_EQ(c.train_input.mode, seqlearn::PatternMode::random_switching);
  EXPECT_EQ(c.test_input.mode, seqlearn::PatternMode::alternating);
  ASSERT_EQ(c.protocol.size(), 2u);
  EXPECT_EQ(c.protocol[0].kind, seqlearn::PhaseKind::train);
  EXPECT_STREQ(seqlearn::to_string(c.protocol[0].kind), "train");
  EXPECT_EQ(c.protocol[0].steps, 100000);
  EXPECT_TRUE(c.protocol[0].learning);
  EXPECT_EQ(c.protocol[1].kind, seqlearn::PhaseKind::test);
  EXPECT_STREQ(seqlearn::to_string(c.protocol[1].kind), "test");
  EXPECT_EQ(c.protocol[1].steps, 3000);
  EXPECT_FALSE(c.protocol[1].learning);
  EXPECT_EQ(c.output_file, "results/default.h5");
  EXPECT_FALSE(c.overwrite);
  EXPECT_EQ(c.total_steps(), 103000);
}

// Config{} (the member initialisers) is the experiment that the option table's defaults give.
TEST(Config, MemberInitialisersAreTheTableDefaults) {
  const Config defaults;
  Config made = make_config({});
  ASSERT_FALSE(made.resolved.empty());  // every key of the table, in order
  EXPECT_EQ(made.resolved.front(),
            std::make_pair(std::string("network.grid"), std::string("10x5")));
  made.resolved.clear();  // Config{} has no resolved text
  // Member by member, for a failure that names the member ...
#define EXPECT_SAME(member) EXPECT_TRUE(defaults.member == made.member) << #member
  EXPECT_SAME(rows);
  EXPECT_SAME(cols);
  EXPECT_SAME(k_min);
  EXPECT_SAME(k_max);
  EXPECT_SAME(n_inputs);
  EXPECT_SAME(connectivity);
  EXPECT_SAME(lambda);
  EXPECT_SAME(n_conn);
  EXPECT_SAME(wta_indegree);
  EXPECT_SAME(boundary);
  EXPECT_SAME(delay_steps);
  EXPECT_SAME(initial_weights);
  EXPECT_SAME(p_conn);
  EXPECT_SAME(train_fraction);
  EXPECT_SAME(r_max_hz);
  EXPECT_SAME(dt_ms);
  EXPECT_SAME(tau_decay_ms);
  EXPECT_SAME(tau_rise_ms);
  EXPECT_SAME(learning_rate);
  EXPECT_SAME(schedule);
  EXPECT_SAME(use_stp);
  EXPECT_SAME(stp_U);
  EXPECT_SAME(stp_D_ms);
  EXPECT_SAME(stp_F_ms);
  EXPECT_SAME(stp_cv);
  EXPECT_SAME(train_inputs);
  EXPECT_SAME(n_patterns);
  EXPECT_SAME(t_pattern_ms);
  EXPECT_SAME(sequences);
  EXPECT_SAME(train_input);
  EXPECT_SAME(test_input);
  EXPECT_SAME(reset_transients);
  EXPECT_SAME(protocol);
  EXPECT_SAME(seed);
  EXPECT_SAME(threads);
  EXPECT_SAME(record_mode);
  EXPECT_SAME(record_list);
  EXPECT_SAME(dt_rec);
  EXPECT_SAME(trace_phases);
  EXPECT_SAME(record_weight_traces);
  EXPECT_SAME(record_quantities);
  EXPECT_SAME(record_synapses);
  EXPECT_SAME(forced_spikes_file);
  EXPECT_SAME(output_file);
  EXPECT_SAME(overwrite);
  EXPECT_SAME(checkpoint_every_steps);
  EXPECT_SAME(checkpoint_file);
#undef EXPECT_SAME
  // ... and as a whole (the defaulted operator==), which covers members added later.
  EXPECT_TRUE(defaults == made);
}

// The choices of a key are its enum's enumerators, in order.
TEST(Config, ChoicesMapToTheirEnumerators) {
  using namespace seqlearn;
  EXPECT_EQ(make_config({{"network.connectivity", "fixed_indegree"}}).connectivity,
            Connectivity::fixed_indegree);
  EXPECT_EQ(make_config({{"network.boundary", "periodic"}}).boundary, Boundary::periodic);
  EXPECT_EQ(make_config({{"network.initial_weights", "log_uniform"}}).initial_weights,
            InitialWeights::log_uniform);
  EXPECT_EQ(make_config({{"plasticity.schedule", "inverse_time"}}).schedule, "inverse_time");
  EXPECT_EQ(make_config({{"plasticity.schedule", "constant"}}).schedule, "constant");
  EXPECT_EQ(make_config({{"record.trace_phases", "test"}}).trace_phases, TracePhases::test);
  EXPECT_EQ(make_config({{"record.trace_phases", "pattern_test"}}).trace_phases,
            TracePhases::pattern_test);
  const Config c = make_config(
      {{"input.pattern_mode", "alternating"}, {"test.pattern_mode", "random_independent"}});
  EXPECT_EQ(c.train_input.mode, PatternMode::alternating);
  EXPECT_EQ(c.test_input.mode, PatternMode::random_independent);
  EXPECT_EQ(make_config({{"test.pattern_mode", "random_switching"}}).test_input.mode,
            PatternMode::random_switching);
}

TEST(Config, MultiplesOfDt) {
  const Config c = make_config({{"neuron.dt", "0.5"},
                                {"neuron.tau_rise", "0.5"},
                                {"run.protocol", "train:10.5,test:3"},
                                {"output.checkpoint_every_ms", "1.5"}});
  EXPECT_EQ(c.protocol[0].steps, 21);
  EXPECT_EQ(c.protocol[1].steps, 6);
  EXPECT_EQ(c.checkpoint_every_steps, 3);
  EXPECT_NE(error_of({{"output.checkpoint_every_ms", "2.5"}, {"neuron.dt", "2"}})
                .find("output.checkpoint_every_ms: expected a multiple of neuron.dt"),
            std::string::npos);
  EXPECT_NE(error_of({{"run.protocol", "test:2.5"}, {"neuron.dt", "2"}})
                .find("run.protocol: expected phases"),
            std::string::npos);
}

TEST(Config, RestoreKeepsTheFixedKeys) {
  const auto written = make_config({{"network.grid", "3x3"}}).resolved;
  const auto restored = seqlearn::resume_config(
      written, {{"input.r_noise", "3"}, {"network.grid", " 3x3 "}}, "test:100", false);
  EXPECT_EQ(restored.train_input.r_noise_hz, 3.0);
  EXPECT_EQ(restored.total_steps(), 100);
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"network.grid", "5x5"},
                                                        {"neuron.dt", "0.5"},
                                                        {"input.r_input", "4"},
                                                        {"run.seed", "2"},
                                                        {"network.p_conn", "0.5"},
                                                        {"network.train_fraction", "0.5"}}) {
    try {
      seqlearn::resume_config(written, {{key, value}}, "test:100", false);
      ADD_FAILURE() << key << " may change on restore";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key + " = "), std::string::npos) << e.what();
    }
  }
}

// A checkpoint written before network.p_conn, network.train_fraction and record.trace_phases
// existed restores with their defaults (the network it describes), and record.trace_phases may
// change on restore.
TEST(Config, RestoreOfACheckpointWithoutTheNetworkOptions) {
  auto written = make_config({{"network.grid", "3x3"}}).resolved;
  std::erase_if(written, [](const auto& kv) {
    return kv.first == "network.p_conn" || kv.first == "network.train_fraction" ||
           kv.first == "record.trace_phases";
  });
  const auto restored =
      seqlearn::resume_config(written, {{"record.trace_phases", "test"}}, "test:100", false);
  EXPECT_EQ(restored.p_conn, 1.0);
  EXPECT_EQ(restored.train_fraction, 1.0);
  EXPECT_EQ(restored.trace_phases, seqlearn::TracePhases::test);
  EXPECT_THROW(seqlearn::resume_config(written, {{"network.p_conn", "0.3"}}, "test:100", false),
               ConfigError);
}

TEST(Config, TestSectionInheritsInputKeys) {
  const Config c = make_config({{"input.r_input", "7"}, {"test.r_noise", "0"}});
  EXPECT_EQ(c.test_input.r_input_hz, 7.0);
  EXPECT_EQ(c.test_input.r_noise_hz, 0.0);
  EXPECT_EQ(c.train_input.r_noise_hz, 2.0);
}

TEST(Config, ListsAndSequences) {
  const Config c = make_config({{"input.n_patterns", "3"},
                                {"input.t_pattern", "100,200,300"},
                                {"input.pattern_sequences", "0,1;2"},
                                {"input.pattern_mode", "random_independent"},
                                {"input.sequence_probs", "0.25,0.75"}});
  EXPECT_EQ(c.t_pattern_ms, (std::vector<double>{100, 200, 300}));
  EXPECT_EQ(c.sequences, (std::vector<std::vector<int>>{{0, 1}, {2}}));
  EXPECT_EQ(c.train_input.sequence_probs, (std::vector<double>{0.25, 0.75}));
}

TEST(Config, BadValuesNameTheirKey) {
  const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> cases = {
      {{"network.grid", "0x5"}, "network.grid"},
      {{"network.grid", "10by5"}, "network.grid"},
      {{"network.k_min", "0"}, "network.k_min"},
      {{"network.k_max", "1"}, "network.k_max"},  // below k_min = 2
      {{"network.n_inputs", "-1"}, "network.n_inputs"},
      {{"network.connectivity", "random"}, "network.connectivity"},
      {{"network.lambda", "0"}, "network.lambda"},
      {{"network.delay", "0"}, "network.delay"},
      {{"network.initial_weights", "ones"}, "network.initial_weights"},
      {{"network.p_conn", "1.5"}, "network.p_conn"},
      {{"network.p_conn", "-0.1"}, "network.p_conn"},
      {{"network.train_fraction", "2"}, "network.train_fraction"},
      {{"record.trace_phases", "train"}, "record.trace_phases"},
      {{"neuron.dt", "0"}, "neuron.dt"},
      {{"neuron.dt", "-1"}, "neuron.dt"},
      {{"neuron.r_max", "abc"}, "neuron.r_max"},
      {{"neuron.tau_rise", "0.5"}, "neuron.tau_rise"},
      {{"plasticity.schedule", "fast"}, "plasticity.schedule"},
      {{"plasticity.use_stp", "maybe"}, "plasticity.use_stp"},
      {{"plasticity.stp_U", "1.5"}, "plasticity.stp_U"},
      {{"input.r_input", "-5"}, "input.r_input"},
      {{"input.t_noise_range", "500,300"}, "input.t_noise_range"},
      {{"input.t_noise_range", "300"}, "input.t_noise_range"},
      {{"input.t_pattern", "100,200"}, "input.t_pattern"},              // 2 values for 1 pattern
      {{"input.pattern_sequences", "0;1"}, "input.pattern_sequences"},  // pattern 1 missing
      {{"input.pattern_sequences", "0;;0"}, "input.pattern_sequences"},
      {{"input.p_switch", "2"}, "input.p_switch"},
      {{"input.sequence_probs", "0.5"}, "input.sequence_probs"},  // 2 sequences
      {{"input.time_warp_range", "0,1"}, "input.time_warp_range"},
      {{"test.pattern_mode", "sometimes"}, "test.pattern_mode"},
      {{"run.protocol", ""}, "run.protocol"},
      {{"run.protocol", "train:100,rest:100"}, "run.protocol"},
      {{"run.protocol", "train:0.5"}, "run.protocol"},  // not a multiple of dt
      {{"run.protocol", "train:-10"}, "run.protocol"},
      {{"run.seed", "-1"}, "run.seed"},
      {{"run.seed", "4294967296"}, "run.seed"},
      {{"run.threads", "-2"}, "run.threads"},
      {{"record.neurons", "some"}, "record.neurons"},
      {{"record.neurons", "range:5-2"}, "record.neurons"},
      {{"record.dt_rec", "-1"}, "record.dt_rec"},
      {{"output.file", ""}, "output.file"},
  };
  for (const auto& [override, key] : cases) {
    const std::string message = error_of({override});
    EXPECT_NE(message.find(key), std::string::npos)
        << override.first << " = '" << override.second << "' gave: '" << message << "'";
  }
  EXPECT_NE(error_of({{"network.k_min", "5"}, {"network.k_max", "3"}}).find("network.k_max"),
            std::string::npos);
  EXPECT_NE(error_of({{"network.grid", "100x100"}}).find("fixed_indegree"), std::string::npos);
}

TEST(CommandLine, UnknownKeysAreErrors) {
  EXPECT_THROW(parse({"--network.gird", "3x3"}), ConfigError);
  EXPECT_THROW(parse({"--frobnicate"}), ConfigError);
  try {
    parse({"--network.gird", "3x3"});
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("network.gird"), std::string::npos) << e.what();
  }
}

TEST(CommandLine, ShortcutsAndFileWithCommandLinePrecedence) {
  const std::string path = testing::TempDir() + "/seqlearn_config_test.ini";
  {
    std::ofstream file(path);
    file << "[network]\ngrid = 4x3\nk_max = 5\n[run]\nseed = 9\nprotocol = train:200\n";
  }
  const auto inv = parse({"--config", path, "--network.k_max", "6", "--output", "x.h5",
                          "--overwrite", "--threads", "2"});
  EXPECT_EQ(inv.config.rows, 4);
  EXPECT_EQ(inv.config.cols, 3);
  EXPECT_EQ(inv.config.k_max, 6);  // the command line wins
  EXPECT_EQ(inv.config.seed, 9u);
  EXPECT_EQ(inv.config.output_file, "x.h5");
  EXPECT_TRUE(inv.config.overwrite);
  EXPECT_EQ(inv.config.threads, 2);
  EXPECT_EQ(inv.config.total_steps(), 200);

  {
    std::ofstream file(path);
    file << "[network]\ngird = 4x3\n";
  }
  EXPECT_THROW(parse({"--config", path}), ConfigError);
  EXPECT_THROW(parse({"--config", path + ".missing"}), ConfigError);
}

TEST(CommandLine, HelpListsEveryKeyWithDefault) {
  const auto inv = parse({"--help"});
  EXPECT_TRUE(inv.show_help);
  for (const char* key : {"network.grid", "neuron.dt", "plasticity.stp_cv", "input.time_warp_range",
                          "test.reset_transients", "run.protocol", "record.dt_rec",
                          "validation.forced_spikes", "output.overwrite"})
    EXPECT_NE(inv.help_text.find(key), std::string::npos) << key;
  EXPECT_NE(inv.help_text.find("[default: 10x5]"), std::string::npos);
  // Unit, range and default of every key, from the option table.
  std::string help;  // as one line with single spaces: Boost wraps the descriptions
  for (const char c : inv.help_text)
    if (!std::isspace(static_cast<unsigned char>(c)) || (!help.empty() && help.back() != ' '))
      help += std::isspace(static_cast<unsigned char>(c)) ? ' ' : c;
  for (const char* text :
       {"--neuron.dt arg time step (unit ms; a number in (0, 100]; <= neuron.tau_decay, "
        "neuron.tau_rise) [fixed on --restore] [default: 1]",
        "--network.k_max arg largest circuit size K (unit neurons; an integer in [1, 1000]; >= "
        "network.k_min) [fixed on --restore] [default: 10]",
        "(one of km2013 | fixed_indegree;",
        "--test.r_noise arg test phases: overrides input.r_noise (unit Hz; a number in [0, "
        "10000]) [default: input.r_noise's value]",
        "--input.r_noise arg noise overlaid on patterns (unit Hz; a number in [0, 10000]) "
        "[default: 2]"})
    EXPECT_NE(help.find(text), std::string::npos) << text;
}

TEST(ForcedSpikes, FileIsCheckedRowByRow) {
  const std::string path = testing::TempDir() + "/seqlearn_forced_test.csv";
  auto load = [&](const std::string& text) {
    std::ofstream(path) << text;
    return seqlearn::load_forced_spikes(path, 2, 4, 100);
  };
  const auto ok = load("source,id,step\ninput,1,5\nneuron,3,2\ninput,0,5\ninput,1,5\n");
  EXPECT_TRUE(ok.inputs_forced);
  ASSERT_EQ(ok.inputs.size(), 2u);  // sorted and de-duplicated
  EXPECT_EQ(ok.inputs[0].id, 0u);
  EXPECT_EQ(ok.neurons[0].id, 3u);
  EXPECT_THROW(load("id,step\n"), ConfigError);
  EXPECT_THROW(load("source,id,step\ninput,2,5\n"), ConfigError);    // only 2 channels
  EXPECT_THROW(load("source,id,step\nneuron,4,5\n"), ConfigError);   // only 4 neurons
  EXPECT_THROW(load("source,id,step\ninput,0,100\n"), ConfigError);  // run has 100 steps
  EXPECT_THROW(load("source,id,step\nglia,0,1\n"), ConfigError);
  EXPECT_THROW(load("source,id,step\ninput,x,1\n"), ConfigError);
  EXPECT_THROW(seqlearn::load_forced_spikes(path + ".missing", 2, 4, 100), ConfigError);
}

// Issue 9 (D9): --config must name a regular file of reasonable size.
TEST(CommandLine, ConfigMustBeASmallRegularFile) {
  auto config_error = [](const std::vector<std::string>& args) -> std::string {
    try {
      parse(args);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(config_error({"--config", testing::TempDir()}).find("--config"), std::string::npos);
  EXPECT_NE(config_error({"--config", "/dev/zero"}).find("--config"), std::string::npos);
  const std::string big = testing::TempDir() + "/seqlearn_big_config.ini";
  {
    std::ofstream file(big);
    file << "[run]\nseed = 3\n";
    for (int i = 0; i < 40000; ++i) file << "# padding padding padding padding padding\n";
  }
  EXPECT_NE(config_error({"--config", big}).find("--config"), std::string::npos);
}

// Hostile test: a config file saved with a UTF-8 byte-order mark is read as without one; a
// line the INI parser cannot read names the file (the message named neither before).
TEST(CommandLine, ConfigFileWithByteOrderMarkAndBadLines) {
  const std::string bom = testing::TempDir() + "/seqlearn_bom_config.ini";
  {
    std::ofstream file(bom, std::ios::binary);
    file << "\xEF\xBB\xBF[network]\r\ngrid = 3x4\r\n";
  }
  const auto invocation = parse({"--config", bom});
  EXPECT_EQ(invocation.config.rows, 3);
  EXPECT_EQ(invocation.config.cols, 4);
  const std::string bad = testing::TempDir() + "/seqlearn_bad_line_config.ini";
  {
    std::ofstream file(bad);
    file << "[network]\nthis line has no equals sign\n";
  }
  try {
    parse({"--config", bad});
    ADD_FAILURE() << "a line without '=' was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--config file '" + bad + "'"), std::string::npos)
        << e.what();
  }
}

// Issue 9 (D16): a key given through its alias and its full name with different values.
TEST(CommandLine, ConflictingAliasesAreErrors) {
  auto message = [](const std::vector<std::string>& args) -> std::string {
    try {
      parse(args);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  const std::string output = message({"--output", "o.h5", "--output.file", "b.h5"});
  EXPECT_NE(output.find("--output "), std::string::npos) << output;
  EXPECT_NE(output.find("--output.file"), std::string::npos) << output;
  const std::string seed = message({"--seed", "5", "--run.seed", "7"});
  EXPECT_NE(seed.find("--seed"), std::string::npos) << seed;
  EXPECT_NE(seed.find("--run.seed"), std::string::npos) << seed;
  EXPECT_NE(message({"--threads", "1", "--run.threads", "2"}).find("--run.threads"),
            std::string::npos);
  EXPECT_NE(message({"--overwrite", "--output.overwrite", "false"}).find("--output.overwrite"),
            std::string::npos);
  // The same value twice is one value.
  EXPECT_EQ(parse({"--seed", "5", "--run.seed", "5"}).config.seed, 5u);
  EXPECT_EQ(parse({"--output", "o.h5", "--output.file", "o.h5"}).config.output_file, "o.h5");
  // A config file's value is overridden by the command line, not a conflict.
  const std::string path = testing::TempDir() + "/seqlearn_alias_test.ini";
  {
    std::ofstream file(path);
    file << "[run]\nseed = 9\n";
  }
  EXPECT_EQ(parse({"--config", path, "--seed", "4"}).config.seed, 4u);
}

// Issue 9 (D15, D10): limits named by the key that sets them.
TEST(Config, GridSidesAndFileNames) {
  EXPECT_NE(error_of({{"network.grid", "2147483648x1"}, {"network.connectivity", "fixed_indegree"}})
                .find("network.grid"),
            std::string::npos);
  EXPECT_NE(error_of({{"network.grid", "1x4294967296"}}).find("network.grid"), std::string::npos);
  EXPECT_NE(error_of({{"output.file", "newdir/"}}).find("output.file"), std::string::npos);
  EXPECT_NE(error_of({{"output.file", "a/.."}}).find("output.file"), std::string::npos);
  EXPECT_NE(error_of({{"output.checkpoint_file", "dir/"}}).find("output.checkpoint_file"),
            std::string::npos);
  EXPECT_NE(error_of({{"output.file", "o.h5"}, {"output.checkpoint_file", "./o.h5"}})
                .find("output.checkpoint_file"),
            std::string::npos);
}

// Issue 9 (D20): the default record.neurons asks for up to 20 neurons; an explicit random:K
// asks for exactly K.
TEST(Config, DefaultRecordNeuronsIsACap) {
  EXPECT_TRUE(make_config({}).record_random_capped);
  EXPECT_FALSE(make_config({{"record.neurons", "random:20"}}).record_random_capped);
  EXPECT_FALSE(parse({"--record.neurons", "random:20"}).config.record_random_capped);
  EXPECT_TRUE(parse({"--seed", "3"}).config.record_random_capped);
  // A restore keeps the default's meaning when the checkpoint holds the default text.
  const Config restored =
      seqlearn::resume_config({{"record.neurons", "random:20"}}, {}, "train:10", false);
  EXPECT_TRUE(restored.record_random_capped);
}

// Issue 17: an unknown key that is a likely typo names the key it was probably meant to be.
TEST(Config, UnknownKeySuggestsTheNearestKey) {
  EXPECT_NE(error_of({{"network.gird", "3x3"}}).find("did you mean 'network.grid'?"),
            std::string::npos);
  EXPECT_NE(error_of({{"plasticity.learnign_rate", "0.1"}}).find("'plasticity.learning_rate'"),
            std::string::npos);
  std::string message;
  try {
    parse({"--network.gird", "3x3"});
  } catch (const ConfigError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("network.gird'; did you mean 'network.grid'?"), std::string::npos)
      << message;
  try {
    parse({"--network.gird=3x3"});
  } catch (const ConfigError& e) {
    message = e.what();
  }
  EXPECT_EQ(message.find("3x3"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'network.grid'?"), std::string::npos) << message;
  try {
    parse({"--ovewrite"});
  } catch (const ConfigError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("did you mean 'overwrite'?"), std::string::npos) << message;
  // Nothing near: no suggestion.
  const std::string far = error_of({{"frobnicate.everything", "1"}});
  EXPECT_NE(far.find("unknown key 'frobnicate.everything'"), std::string::npos) << far;
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

// The one text helper of config and input readers (text.hpp): what both relied on before.
TEST(Text, SplitTrimsAndKeepsATrailingEmptyPart) {
  EXPECT_EQ(seqlearn::split(" a , b ,c", ','), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(seqlearn::split("a,", ','), (std::vector<std::string>{"a", ""}));
  EXPECT_TRUE(seqlearn::split("", ',').empty());
  EXPECT_EQ(seqlearn::trim(" \t x y\r\n"), "x y");
}

TEST(Text, IntegersAreTheWholeTrimmedText) {
  std::int64_t value = 0;
  EXPECT_TRUE(seqlearn::parse_int(" 42\r", value));
  EXPECT_EQ(value, 42);
  EXPECT_TRUE(seqlearn::parse_int("-9223372036854775808", value));
  EXPECT_FALSE(seqlearn::parse_int("9223372036854775808", value));
  EXPECT_FALSE(seqlearn::parse_int("4x", value));
  EXPECT_FALSE(seqlearn::parse_int("  ", value));
  EXPECT_FALSE(seqlearn::parse_int("+1", value));
  double real = 0;
  EXPECT_TRUE(seqlearn::parse_double(" 1e3 ", real));
  EXPECT_EQ(real, 1000.0);
  EXPECT_FALSE(seqlearn::parse_double("inf", real));
  EXPECT_FALSE(seqlearn::parse_double("1.5ms", real));
}

TEST(Text, ByteOrderMarkRemovedOnlyAtTheStart) {
  std::string text = "\xEF\xBB\xBFkey = 1";
  seqlearn::strip_byte_order_mark(text);
  EXPECT_EQ(text, "key = 1");
  std::string inside = "a\xEF\xBB\xBF";
  seqlearn::strip_byte_order_mark(inside);
  EXPECT_EQ(inside, "a\xEF\xBB\xBF");
}

// record.quantities: all (every registered quantity), none, or names, each recorded where its
// kind is; a name that would not be recorded, or no name at all, is refused naming the key.
TEST(Config, RecordQuantitiesSelectsRegisteredNames) {
  EXPECT_FALSE(make_config({}).record_quantities.has_value());
  EXPECT_TRUE(make_config({}).records("weight"));
  const Config none = make_config({{"record.quantities", "none"}});
  ASSERT_TRUE(none.record_quantities.has_value());
  EXPECT_TRUE(none.record_quantities->empty());
  EXPECT_FALSE(none.records("u"));
  const Config some = make_config({{"record.quantities", " p, weight ,p"}});
  EXPECT_EQ(*some.record_quantities, (std::vector<std::string>{"p", "weight"}));
  EXPECT_TRUE(some.records("p"));
  EXPECT_FALSE(some.records("u"));
  for (const auto& [overrides, why] :
       std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, std::string>>{
           {{{"record.quantities", "u,voltage"}}, "no recorded quantity 'voltage'"},
           {{{"record.quantities", "u,,p"}}, "no recorded quantity ''"},
           {{{"record.quantities", ""}}, "expected all, none or names"},
           {{{"record.quantities", "ALL"}}, "no recorded quantity 'ALL'"},
           {{{"record.quantities", "u"}, {"record.dt_rec", "0"}}, "record.dt_rec = 0"},
           {{{"record.quantities", "weight"}, {"record.weight_traces", "false"}},
            "needs record.weight_traces = true"}}) {
    const std::string message = error_of(overrides);
    EXPECT_NE(message.find("record.quantities"), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  }
  // A value too long for /config (an HDF5 attribute holds 64 KiB) is refused before the run, not
  // when the output is written after it; the message shows the value's start only.
  std::string names = "readout";
  while (names.size() < 70000) names += ",readout";
  const std::string message = error_of({{"record.quantities", names}});
  EXPECT_NE(message.find("longer than 60000 bytes"), std::string::npos) << message.substr(0, 300);
  EXPECT_NE(message.find("for record.quantities"), std::string::npos) << message.substr(0, 300);
  EXPECT_LT(message.size(), 400u);
  // The defaults of the other keys leave out nothing: all of them with dt_rec = 0 is fine.
  EXPECT_EQ(error_of({{"record.dt_rec", "0"}, {"record.weight_traces", "false"}}), "");
}
