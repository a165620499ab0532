// Checkpoints (docs/design.md 6): a run checkpointed by all ranks of the job and restored by all
// ranks continues bit-identically to one process running without interruption, for a new
// phase after a complete run and for a phase cut in the middle by a stop that only one rank
// asked for. (Restoring on another rank count is tested end to end in tests/cli/failures.sh.)
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "seqlearn/checkpoint.hpp"
#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/simulator.hpp"

using seqlearn::Simulator;

namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

struct Result {
  std::vector<std::pair<std::int64_t, std::uint64_t>> spikes;  // (step, neuron), sorted
  std::vector<std::uint64_t> weight_bits;
  std::vector<std::int32_t> labels;  // /input/pattern_id from the step on, rank 0's
};

Result gather(const Simulator& sim, seqlearn::Communicator& comm, std::int64_t from_step) {
  std::vector<std::uint64_t> local;
  const auto& rec = sim.record();
  for (std::size_t i = 0; i < rec.spike_step.size(); ++i) {
    if (rec.spike_step[i] < from_step) continue;
    local.push_back(static_cast<std::uint64_t>(rec.spike_step[i]));
    local.push_back(rec.spike_neuron[i]);
  }
  Result r;
  const auto all = comm.all_gather(local);
  for (std::size_t i = 0; i < all.size(); i += 2)
    r.spikes.emplace_back(static_cast<std::int64_t>(all[i]), all[i + 1]);
  std::sort(r.spikes.begin(), r.spikes.end());
  // In global row order: sorted by target, stably (tiles interleave the ranks' neurons).
  std::vector<std::uint64_t> bits;
  for (double w : sim.weights()) bits.push_back(std::bit_cast<std::uint64_t>(w));
  const std::vector<std::uint64_t> all_bits = comm.all_gather(bits);
  const std::vector<std::uint64_t> targets = comm.all_gather(sim.synapse_targets());
  std::vector<std::size_t> order(targets.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return targets[a] < targets[b]; });
  for (const std::size_t i : order) r.weight_bits.push_back(all_bits[i]);
  const auto from = static_cast<std::size_t>(2 * (from_step - rec.first_step));
  const auto& pattern_id = rec.label("pattern_id");
  if (comm.rank() == 0 && from <= pattern_id.size())
    r.labels.assign(pattern_id.begin() + static_cast<std::ptrdiff_t>(from), pattern_id.end());
  return r;
}

// `extra`: more keys (the network options of docs/model.md 11.1).
Overrides base(const std::string& protocol, const std::string& checkpoint,
               const Overrides& extra = {}) {
  Overrides o = {{"network.grid", "5x4"},
                 {"network.n_inputs", "50"},
                 {"network.delay", "2"},
                 {"run.protocol", protocol},
                 {"record.dt_rec", "0"},
                 {"output.file", checkpoint + ".out.h5"},
                 {"output.checkpoint_file", checkpoint}};
  o.insert(o.end(), extra.begin(), extra.end());
  return o;
}

// The uninterrupted reference on rank 0 alone, from `from_step` on.
Result reference(const std::string& protocol, std::int64_t from_step, const Overrides& extra) {
  auto alone = seqlearn::make_local_communicator();
  Simulator serial(seqlearn::make_config(base(protocol, "unused.ckpt.h5", extra)), *alone,
                   seqlearn::load_simulator_inputs(
                       seqlearn::make_config(base(protocol, "unused.ckpt.h5", extra))));
  serial.set_checkpoint_writer(seqlearn::checkpoint_writer());
  serial.run();
  return gather(serial, *alone, from_step);
}

void expect_same_on_rank0(const Result& got, const std::string& protocol, std::int64_t from_step,
                          seqlearn::Communicator& comm, const Overrides& extra = {}) {
  double failures = 0;
  if (comm.rank() == 0) {
    const Result want = reference(protocol, from_step, extra);
    EXPECT_GT(want.spikes.size(), 100u);
    EXPECT_TRUE(got.spikes == want.spikes)
        << got.spikes.size() << " vs " << want.spikes.size() << " spikes";
    EXPECT_TRUE(got.weight_bits == want.weight_bits) << "final weights differ";
    EXPECT_TRUE(got.labels == want.labels) << "input labels differ";
    failures = testing::Test::HasFailure() ? 1 : 0;
  }
  EXPECT_EQ(comm.max(failures), 0.0) << "rank 0 found differences";
}

// A fresh name: a checkpoint left by an earlier, interrupted test is removed first (a run's
// first checkpoint never replaces an existing file, file_safety.hpp).
std::string checkpoint_path(const char* name, seqlearn::Communicator& comm) {
  const std::string path =
      testing::TempDir() + "/seqlearn_" + name + "_np" + std::to_string(comm.size()) + ".ckpt.h5";
  if (comm.rank() == 0) {
    std::remove(path.c_str());
    std::remove((path + ".partial").c_str());
  }
  comm.barrier();
  return path;
}

// Runs `sim` with a stop asked for once `at` steps are done (in the middle of a phase); returns
// the step it stopped at (a checkpoint of it is written).
std::int64_t run_until_stopped(Simulator& sim, std::int64_t at) {
  const auto outcome = sim.run([&](std::int64_t done, std::int64_t) {
    if (done >= at) sim.request_stop();
  });
  EXPECT_EQ(outcome, Simulator::Outcome::stopped);
  return sim.steps_done();
}

}  // namespace

// A stop agreed in the protocol's last exchange interval (delay 100: the request at step 250
// travels with the exchange at 300, the end) stops nothing: the run completes, and no checkpoint
// is written (it could not be continued: its protocol would be complete). Hostile test: exit 3
// and a "Resume with" that failed.
TEST(Checkpoint, AStopInTheLastIntervalCompletesTheRun) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("last_interval", *comm);
  auto overrides = base("train:300", path);
  overrides.emplace_back("network.delay", "100");
  const seqlearn::Config config = seqlearn::make_config(overrides);
  {
    Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
    sim.set_checkpoint_writer(seqlearn::checkpoint_writer());
    const auto outcome = sim.run([&](std::int64_t done, std::int64_t) {
      if (done >= 200) sim.request_stop();
    });
    EXPECT_EQ(outcome, Simulator::Outcome::completed);
    EXPECT_EQ(sim.steps_done(), 300);
  }
  comm->barrier();
  EXPECT_FALSE(std::filesystem::exists(path));
  // The same request one interval earlier stops the run there, with a checkpoint.
  {
    Simulator early(config, *comm, seqlearn::load_simulator_inputs(config));
    early.set_checkpoint_writer(seqlearn::checkpoint_writer());
    EXPECT_EQ(run_until_stopped(early, 100), 200);
  }
  comm->barrier();
  EXPECT_TRUE(std::filesystem::exists(path));
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}

TEST(Checkpoint, NewPhasesAfterACompleteRun) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("complete", *comm);
  auto first = base("train:3000", path);
  first.emplace_back("output.checkpoint_every_ms", "1000");
  {
    Simulator sim(seqlearn::make_config(first), *comm,
                  seqlearn::load_simulator_inputs(seqlearn::make_config(first)));
    sim.set_checkpoint_writer(seqlearn::checkpoint_writer());
    EXPECT_EQ(sim.run(), Simulator::Outcome::completed);
  }
  const auto header = seqlearn::read_checkpoint_header(path);
  EXPECT_EQ(header.step, 3000);
  EXPECT_EQ(header.remaining_protocol, "");
  const auto config =
      seqlearn::resume_config(header.config, {{"run.protocol", "train:2000,test:1000"}}, "", false);
  Simulator restored(config, *comm, seqlearn::load_simulator_inputs(config));
  restored.set_checkpoint_writer(seqlearn::checkpoint_writer());
  seqlearn::restore(restored, path);
  EXPECT_EQ(restored.first_step(), 3000);
  restored.run();
  expect_same_on_rank0(gather(restored, *comm, 3000), "train:3000,train:2000,test:1000", 3000,
                       *comm);
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}

// docs/model.md 11.1: a checkpoint of a pruned, partly trained network restores and continues
// bit-identically (the keys are fixed on --restore, and the network is rebuilt from them).
TEST(Checkpoint, PrunedPartlyTrainedNetworkContinues) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("pruned", *comm);
  const Overrides extra = {{"network.p_conn", "0.3"}, {"network.train_fraction", "0.5"}};
  auto first = base("train:2000", path, extra);
  first.emplace_back("output.checkpoint_every_ms", "1000");
  {
    Simulator first_part(seqlearn::make_config(first), *comm,
                         seqlearn::load_simulator_inputs(seqlearn::make_config(first)));
    first_part.set_checkpoint_writer(seqlearn::checkpoint_writer());
    first_part.run();
  }
  const auto header = seqlearn::read_checkpoint_header(path);
  const auto config =
      seqlearn::resume_config(header.config, {{"run.protocol", "train:1000,test:500"}}, "", false);
  EXPECT_EQ(config.p_conn, 0.3);
  EXPECT_EQ(config.train_fraction, 0.5);
  Simulator restored(config, *comm, seqlearn::load_simulator_inputs(config));
  restored.set_checkpoint_writer(seqlearn::checkpoint_writer());
  seqlearn::restore(restored, path);
  restored.run();
  expect_same_on_rank0(gather(restored, *comm, 2000), "train:2000,train:1000,test:500", 2000, *comm,
                       extra);
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}

TEST(Checkpoint, StopAskedByOneRankCutsAPhaseForAll) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("stop", *comm);
  const std::string protocol = "train:6000,test:1000";
  std::int64_t stopped_at = 0;
  {
    Simulator sim(seqlearn::make_config(base(protocol, path)), *comm,
                  seqlearn::load_simulator_inputs(seqlearn::make_config(base(protocol, path))));
    sim.set_checkpoint_writer(seqlearn::checkpoint_writer());
    const int asker = comm->size() - 1;
    const auto outcome = sim.run([&](std::int64_t done, std::int64_t) {
      if (comm->rank() == asker && done >= 2501) sim.request_stop();
    });
    EXPECT_EQ(outcome, Simulator::Outcome::stopped);
    stopped_at = sim.steps_done();
  }
  // Every rank stopped at the same step, right after the asking rank's request.
  EXPECT_EQ(static_cast<double>(stopped_at), comm->max(static_cast<double>(stopped_at)));
  EXPECT_GE(stopped_at, 2502);
  EXPECT_LE(stopped_at, 2506);
  const auto header = seqlearn::read_checkpoint_header(path);
  EXPECT_EQ(header.step, stopped_at);
  EXPECT_TRUE(header.continues_phase);
  const auto config =
      seqlearn::resume_config(header.config, {}, header.remaining_protocol, header.continues_phase);
  ASSERT_EQ(config.protocol.size(), 2u);
  EXPECT_TRUE(config.protocol[0].continues);
  EXPECT_EQ(config.protocol[0].steps, 6000 - stopped_at);
  Simulator restored(config, *comm, seqlearn::load_simulator_inputs(config));
  restored.set_checkpoint_writer(seqlearn::checkpoint_writer());
  seqlearn::restore(restored, path);
  EXPECT_EQ(restored.run(), Simulator::Outcome::completed);
  expect_same_on_rank0(gather(restored, *comm, stopped_at), protocol, stopped_at, *comm);
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}

// A phase cut in the middle on two threads per rank continues on two threads: the threads'
// copies of the traces (few sources: Simulator::advance_sources) start from the restored ones.
TEST(Checkpoint, PhaseCutOnTwoThreadsContinuesOnTwoThreads) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("threads", *comm);
  const std::string protocol = "train:4000";
  const Overrides threads = {{"run.threads", "2"}};
  std::int64_t stopped_at = 0;
  {
    Simulator sim(
        seqlearn::make_config(base(protocol, path, threads)), *comm,
        seqlearn::load_simulator_inputs(seqlearn::make_config(base(protocol, path, threads))));
    sim.set_checkpoint_writer(seqlearn::checkpoint_writer());
    EXPECT_EQ(sim.threads(), 2);
    stopped_at = run_until_stopped(sim, 1501);
  }
  const auto header = seqlearn::read_checkpoint_header(path);
  ASSERT_TRUE(header.continues_phase);
  const auto config = seqlearn::resume_config(header.config, threads, header.remaining_protocol,
                                              header.continues_phase);
  Simulator restored(config, *comm, seqlearn::load_simulator_inputs(config));
  restored.set_checkpoint_writer(seqlearn::checkpoint_writer());
  EXPECT_EQ(restored.threads(), 2);
  seqlearn::restore(restored, path);
  EXPECT_EQ(restored.run(), Simulator::Outcome::completed);
  expect_same_on_rank0(gather(restored, *comm, stopped_at), protocol, stopped_at, *comm);
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}

// A checkpoint written by ranks that own tiles restores on ranks that own strips, and the run goes
// on as one process's would: a checkpoint holds the state in global order, whatever the shape.
TEST(Checkpoint, TilesCutContinuesOnStrips) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("tiles", *comm);
  const std::string protocol = "train:3000";
  const Overrides local = {{"network.connectivity", "fixed_indegree"},
                           {"network.wta_indegree", "4"},
                           {"network.lambda", "0.6"},
                           {"network.p_conn", "0.5"}};
  Overrides tiles = local;
  tiles.emplace_back("run.partition", "tiles");
  std::int64_t stopped_at = 0;
  {
    const auto config = seqlearn::make_config(base(protocol, path, tiles));
    Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
    sim.set_checkpoint_writer(seqlearn::checkpoint_writer());
    EXPECT_EQ(sim.network().partition().shape(), seqlearn::PartitionShape::tiles);
    stopped_at = run_until_stopped(sim, 1501);
  }
  const auto header = seqlearn::read_checkpoint_header(path);
  ASSERT_TRUE(header.continues_phase);
  const auto config = seqlearn::resume_config(header.config, {{"run.partition", "strips"}},
                                              header.remaining_protocol, header.continues_phase);
  Simulator restored(config, *comm, seqlearn::load_simulator_inputs(config));
  restored.set_checkpoint_writer(seqlearn::checkpoint_writer());
  EXPECT_EQ(restored.network().partition().shape(), seqlearn::PartitionShape::strips);
  seqlearn::restore(restored, path);
  EXPECT_EQ(restored.run(), Simulator::Outcome::completed);
  expect_same_on_rank0(gather(restored, *comm, stopped_at), protocol, stopped_at, *comm, local);
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}

TEST(Checkpoint, StructuralKeysCannotChange) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("keys", *comm);
  auto first = base("train:200", path);
  first.emplace_back("output.checkpoint_every_ms", "200");
  {
    Simulator first_part(seqlearn::make_config(first), *comm,
                         seqlearn::load_simulator_inputs(seqlearn::make_config(first)));
    first_part.set_checkpoint_writer(seqlearn::checkpoint_writer());
    first_part.run();
  }
  const auto header = seqlearn::read_checkpoint_header(path);
  EXPECT_THROW(
      seqlearn::resume_config(header.config,
                              {{"network.grid", "5x5"}, {"run.protocol", "test:100"}}, "", false),
      seqlearn::ConfigError);
  EXPECT_THROW(seqlearn::resume_config(
                   header.config, {{"run.seed", "2"}, {"run.protocol", "test:100"}}, "", false),
               seqlearn::ConfigError);
  EXPECT_THROW(seqlearn::resume_config(header.config, {}, "", false),
               seqlearn::ConfigError);  // nothing left to run
  const auto reuse = seqlearn::resume_config(
      header.config, {{"run.protocol", "test:100"}, {"test.r_noise", "0"}}, "", false);
  EXPECT_EQ(reuse.test_input.r_noise_hz, 0.0);
  EXPECT_THROW(seqlearn::read_checkpoint_header(path + ".missing"), seqlearn::ConfigError);
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}

// A run cut in the middle of an xor window by one process alone, restored by every rank of
// the job (2 ranks at np 2), continues as the uninterrupted run: spikes, weights and both
// label streams; the remaining protocol keeps the phases' tasks.
TEST(Checkpoint, XorPhaseCutOnOneProcessContinuesOnAllRanks) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("xor", *comm);
  const std::string protocol = "train:1000,test:1500:xor,test:500";
  std::int64_t stopped_at = 0;
  if (comm->rank() == 0) {
    auto alone = seqlearn::make_local_communicator();
    Simulator sim(seqlearn::make_config(base(protocol, path)), *alone,
                  seqlearn::load_simulator_inputs(seqlearn::make_config(base(protocol, path))));
    sim.set_checkpoint_writer(seqlearn::checkpoint_writer());
    const auto outcome = sim.run([&](std::int64_t done, std::int64_t) {
      if (done >= 1623) sim.request_stop();
    });
    EXPECT_EQ(outcome, Simulator::Outcome::stopped);
    stopped_at = sim.steps_done();
  }
  stopped_at = static_cast<std::int64_t>(comm->max(static_cast<double>(stopped_at)));
  comm->barrier();
  // The stop comes at an exchange after the request (delay 2): inside a window of the xor
  // phase, which started at step 1000.
  EXPECT_GE(stopped_at, 1624);
  EXPECT_LE(stopped_at, 1630);
  const auto header = seqlearn::read_checkpoint_header(path);
  EXPECT_EQ(header.remaining_protocol,
            "test:" + std::to_string(2500 - stopped_at) + ":xor,test:500");
  EXPECT_TRUE(header.continues_phase);
  EXPECT_EQ(header.generator.task, "xor");
  EXPECT_EQ(header.generator.position.integer("xor_position"), (stopped_at - 1000) % 50);
  EXPECT_NE(header.generator.position.integer("xor_position"), 0);
  const auto config =
      seqlearn::resume_config(header.config, {}, header.remaining_protocol, header.continues_phase);
  Simulator restored(config, *comm, seqlearn::load_simulator_inputs(config));
  restored.set_checkpoint_writer(seqlearn::checkpoint_writer());
  seqlearn::restore(restored, path);
  EXPECT_EQ(restored.run(), Simulator::Outcome::completed);
  expect_same_on_rank0(gather(restored, *comm, stopped_at), protocol, stopped_at, *comm);
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}

// The multi task (docs/model.md 11.6) cut mid-window by one process alone, restored by every
// rank of the job, continues as the uninterrupted run: spikes, weights, and the groups' rates
// (the restored file's first rate row is the window's rates at the restored step).
TEST(Checkpoint, MultiPhaseCutOnOneProcessContinuesOnAllRanks) {
  auto comm = seqlearn::make_mpi_communicator();
  const std::string path = checkpoint_path("multi", *comm);
  const std::string protocol = "train:1000,test:1500:multi,test:500";
  const Overrides extra = {{"input.multi_groups", "3"}, {"input.multi_rate_range", "5,60"}};
  std::int64_t stopped_at = 0;
  if (comm->rank() == 0) {
    auto alone = seqlearn::make_local_communicator();
    Simulator sim(
        seqlearn::make_config(base(protocol, path, extra)), *alone,
        seqlearn::load_simulator_inputs(seqlearn::make_config(base(protocol, path, extra))));
    sim.set_checkpoint_writer(seqlearn::checkpoint_writer());
    const auto outcome = sim.run([&](std::int64_t done, std::int64_t) {
      if (done >= 1623) sim.request_stop();
    });
    EXPECT_EQ(outcome, Simulator::Outcome::stopped);
    stopped_at = sim.steps_done();
  }
  stopped_at = static_cast<std::int64_t>(comm->max(static_cast<double>(stopped_at)));
  comm->barrier();
  const auto header = seqlearn::read_checkpoint_header(path);
  EXPECT_EQ(header.remaining_protocol,
            "test:" + std::to_string(2500 - stopped_at) + ":multi,test:500");
  EXPECT_TRUE(header.continues_phase);
  EXPECT_EQ(header.generator.task, "multi");
  EXPECT_EQ(header.generator.position.integer("multi_position"), (stopped_at - 1000) % 100);
  EXPECT_NE(header.generator.position.integer("multi_position"), 0);
  const auto config =
      seqlearn::resume_config(header.config, {}, header.remaining_protocol, header.continues_phase);
  Simulator restored(config, *comm, seqlearn::load_simulator_inputs(config));
  restored.set_checkpoint_writer(seqlearn::checkpoint_writer());
  seqlearn::restore(restored, path);
  EXPECT_EQ(restored.run(), Simulator::Outcome::completed);
  expect_same_on_rank0(gather(restored, *comm, stopped_at), protocol, stopped_at, *comm, extra);
  if (comm->rank() == 0) {
    auto alone = seqlearn::make_local_communicator();
    Simulator whole(seqlearn::make_config(base(protocol, "unused.ckpt.h5", extra)), *alone,
                    seqlearn::load_simulator_inputs(
                        seqlearn::make_config(base(protocol, "unused.ckpt.h5", extra))));
    whole.set_checkpoint_writer(seqlearn::checkpoint_writer());
    whole.run();
    ASSERT_EQ(whole.record().targets.count("multi"), 1u);
    ASSERT_EQ(restored.record().targets.count("multi"), 1u);
    const auto& want = whole.record().targets.at("multi");
    const auto& got = restored.record().targets.at("multi");
    ASSERT_EQ(want.step.size(), 15u);  // windows of 100 steps in 1500
    ASSERT_FALSE(got.step.empty());
    EXPECT_EQ(got.step.front(), stopped_at);
    // the window holding the restored step: its rates, then every later window's
    const auto window = static_cast<std::size_t>((stopped_at - 1000) / 100);
    EXPECT_EQ(got.step.size(), 15u - window);
    for (std::size_t i = 0; i < got.step.size(); ++i) {
      if (i > 0) {
        EXPECT_EQ(got.step[i], want.step[window + i]);
      }
      for (std::size_t g = 0; g < 3; ++g)
        EXPECT_EQ(got.value[3 * i + g], want.value[3 * (window + i) + g]) << i << " " << g;
    }
  }
  comm->barrier();
  if (comm->rank() == 0) std::remove(path.c_str());
}
