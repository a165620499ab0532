// The whole engine in validation mode (docs/model.md 7): forced spikes make every weight, u and p
// deterministic. Checked against docs/model.md section 10's table and against a plain dense
// implementation of docs/model.md section 4 written here, independently of the engine's
// event-driven sums, STP bookkeeping and delay ring.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/rng.hpp"
#include "seqlearn/simulator.hpp"

using seqlearn::Config;
using seqlearn::Simulator;

namespace {

struct Forced {
  std::vector<std::pair<int, std::int64_t>> inputs;   // (channel, step)
  std::vector<std::pair<int, std::int64_t>> neurons;  // (neuron, step)
};

std::string write_forced(const Forced& forced, const std::string& name) {
  const std::string path = testing::TempDir() + "/" + name + ".csv";
  std::ofstream file(path);
  file << "source,id,step\n";
  for (auto [id, step] : forced.inputs) file << "input," << id << "," << step << "\n";
  for (auto [id, step] : forced.neurons) file << "neuron," << id << "," << step << "\n";
  return path;
}

Config toy_config(std::vector<std::pair<std::string, std::string>> overrides, const Forced& forced,
                  const std::string& name) {
  overrides.emplace_back("validation.forced_spikes", write_forced(forced, name));
  overrides.emplace_back("record.neurons", "all");
  overrides.emplace_back("record.dt_rec", "1");
  return seqlearn::make_config(overrides);
}

// docs/model.md section 4, literally: dense matrices, isi accumulated step by step (M14), the
// delayed amplitude queued per source.
class DenseReference {
 public:
  DenseReference(const Config& c, const seqlearn::Network& net) : c_(c) {
    n_in_ = c.n_inputs;
    n_ = static_cast<int>(net.n_neurons());
    const int n_src = n_in_ + n_;
    e_.assign(n_src, 0);
    eh_.assign(n_src, 0);
    R_.assign(n_src, 1);
    isi_.assign(n_src, 0);
    for (int j = 0; j < n_src; ++j) {
      const auto p = net.stp_parameters(static_cast<std::uint64_t>(j));
      U_.push_back(p.U);
      D_.push_back(p.D_s);
      F_.push_back(p.F_s);
    }
    u_stp_ = U_;
    pending_.assign(n_src, std::deque<double>(static_cast<std::size_t>(c.delay_steps - 1), 0.0));
    connected_.assign(static_cast<std::size_t>(n_),
                      std::vector<bool>(static_cast<std::size_t>(n_src), false));
    // docs/model.md 11.1, from its rule: neuron synapse pre -> k of connected circuits kept
    // when U(0,1) keyed by (synapse_kept, k, pre) < p_conn; circuit c learns when U(0,1)
    // keyed by (train_circuit, c, 0) < train_fraction.
    const seqlearn::CounterRng rng(c.seed);
    for (int k = 0; k < n_; ++k) {
      const auto circuit = net.circuit_of(static_cast<std::uint64_t>(k));
      circuit_.push_back(circuit);
      for (int j = 0; j < n_in_; ++j) connected_[k][j] = true;
      for (auto a : net.sources_of(circuit))
        for (int o = 0; o < net.circuit_size(a); ++o) {
          const std::uint64_t pre = net.first_neuron(a) + static_cast<std::uint64_t>(o);
          connected_[k][static_cast<std::size_t>(n_in_) + pre] =
              rng.uniform(seqlearn::Purpose::synapse_kept, static_cast<std::uint64_t>(k), pre) <
              c.p_conn;
        }
      trained_.push_back(rng.uniform(seqlearn::Purpose::train_circuit,
                                     static_cast<std::uint64_t>(circuit), 0) < c.train_fraction);
    }
    w_.assign(static_cast<std::size_t>(n_),
              std::vector<double>(static_cast<std::size_t>(n_src), 0.0));
    // Untrained neurons (and every neuron with log_uniform): w = log U(0,1), keyed by
    // (initial_weight, k, position of the synapse in k's row of existing synapses).
    for (int k = 0; k < n_; ++k) {
      if (trained_[k] && c.initial_weights != seqlearn::InitialWeights::log_uniform) continue;
      std::uint64_t position = 0;
      for (int j = 0; j < n_src; ++j)
        if (connected_[k][j])
          w_[k][j] = std::log(rng.uniform(seqlearn::Purpose::initial_weight,
                                          static_cast<std::uint64_t>(k), position++));
    }
    initial_w_ = w_;
    S_.assign(static_cast<std::size_t>(n_),
              std::vector<double>(static_cast<std::size_t>(n_src), 0.0));
    Q_.assign(static_cast<std::size_t>(n_),
              std::vector<double>(static_cast<std::size_t>(n_src), 1.0));
  }

  void reset_transients() {
    std::fill(e_.begin(), e_.end(), 0.0);
    std::fill(eh_.begin(), eh_.end(), 0.0);
    std::fill(R_.begin(), R_.end(), 1.0);
    std::fill(isi_.begin(), isi_.end(), 0.0);
    u_stp_ = U_;
    for (auto& q : pending_) std::fill(q.begin(), q.end(), 0.0);
    std::fill(readout_.begin(), readout_.end(), 0.0);
  }

  // One step with the given spikes (s_j = 1 for j in `spiking`, source ids).
  void step(const std::vector<bool>& spiking, bool learning) {
    const int n_src = n_in_ + n_;
    std::vector<double> Y(static_cast<std::size_t>(n_src));
    for (int j = 0; j < n_src; ++j) Y[j] = e_[j] - eh_[j];  // M1
    u_.assign(static_cast<std::size_t>(n_), 0.0);
    for (int k = 0; k < n_; ++k)
      for (int j = 0; j < n_src; ++j)
        if (connected_[k][j]) u_[k] += w_[k][j] * Y[j];  // M2
    p_.assign(static_cast<std::size_t>(n_), 0.0);
    for (int k = 0; k < n_; ++k) {  // M3, plainly
      double norm = 0;
      for (int l = 0; l < n_; ++l)
        if (circuit_[l] == circuit_[k]) norm += std::exp(u_[l]);
      p_[k] = std::exp(u_[k]) / norm;
    }
    const double dt = c_.dt_s();
    readout_.resize(static_cast<std::size_t>(n_), 0.0);
    for (int k = 0; k < n_; ++k)  // docs/model.md 8
      readout_[k] = readout_[k] * (1 - c_.dt_ms / c_.tau_decay_ms) +
                    (spiking[static_cast<std::size_t>(n_in_ + k)] ? 1.0 : 0.0);
    for (int j = 0; j < n_src; ++j) {  // M6 with the delayed amplitude
      const double amplitude = spiking[j] ? (c_.use_stp ? R_[j] * u_stp_[j] : 1.0) : 0.0;
      double arriving = amplitude;
      if (c_.delay_steps > 1) {
        pending_[j].push_back(amplitude);
        arriving = pending_[j].front();
        pending_[j].pop_front();
      }
      e_[j] = e_[j] * (1 - c_.dt_ms / c_.tau_decay_ms) + arriving;
      eh_[j] = eh_[j] * (1 - c_.dt_ms / c_.tau_rise_ms) + arriving;
    }
    if (learning) ++n_train_;
    for (int k = 0; k < n_ && learning; ++k) {
      if (!spiking[static_cast<std::size_t>(n_in_ + k)] || !trained_[k]) continue;
      for (int j = 0; j < n_src; ++j) {
        if (!connected_[k][j] || (j < n_in_ && !c_.train_inputs)) continue;
        double eta = c_.learning_rate;  // M7''
        if (c_.schedule == "variance_tracking")
          eta = c_.learning_rate * (Q_[k][j] - S_[k][j] * S_[k][j]) /
                (std::exp(-S_[k][j]) + 1);                                     // M7
        if (c_.schedule == "inverse_time") eta = c_.learning_rate / n_train_;  // M7'
        const double delta = (Y[j] - std::exp(w_[k][j])) / std::max(std::exp(w_[k][j]), eta);  // M8
        w_[k][j] += eta * delta;                                                               // M9
        if (c_.schedule == "variance_tracking") {
          S_[k][j] += eta * (w_[k][j] - S_[k][j]);             // M10
          Q_[k][j] += eta * (w_[k][j] * w_[k][j] - Q_[k][j]);  // M11
        }
      }
    }
    for (int j = 0; j < n_src; ++j) {
      if (spiking[j] && c_.use_stp) {
        const double R_old = R_[j];
        R_[j] = 1 + (R_old - u_stp_[j] * R_old - 1) * std::exp(-isi_[j] / D_[j]);  // M12
        u_stp_[j] = U_[j] + u_stp_[j] * (1 - U_[j]) * std::exp(-isi_[j] / F_[j]);  // M13
      }
      isi_[j] += dt;  // M14
      if (spiking[j]) isi_[j] = 0.0;
    }
  }

  const Config& c_;
  int n_in_ = 0, n_ = 0;
  std::vector<std::int64_t> circuit_;
  std::vector<double> e_, eh_, R_, u_stp_, U_, D_, F_, isi_, u_, p_, readout_;
  std::vector<std::deque<double>> pending_;
  std::vector<std::vector<bool>> connected_;
  std::vector<bool> trained_;
  std::vector<std::vector<double>> w_, S_, Q_, initial_w_;
  double n_train_ = 0;
};

// Runs the engine and the dense reference side by side; compares u, p and every weight at
// every step to 1e-12 relative.
void compare_with_dense(const Config& config, const Forced& forced) {
  auto comm = seqlearn::make_local_communicator();
  Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
  sim.run();
  const auto& rec = sim.record();
  DenseReference ref(config, sim.network());
  const int n = ref.n_, n_in = ref.n_in_;
  const auto total = config.total_steps();
  ASSERT_EQ(static_cast<std::int64_t>(rec.trace_steps.size()), total);
  ASSERT_EQ(rec.trace_neurons.size(), static_cast<std::size_t>(n));
  const std::size_t m = rec.trace_weight_pre.size();
  // The traced synapses are exactly the reference's existing ones.
  std::size_t existing = 0;
  for (int k = 0; k < n; ++k)
    for (int j = 0; j < n_in + n; ++j) existing += ref.connected_[k][j];
  ASSERT_EQ(m, existing);
  for (std::size_t i = 0; i < m; ++i)
    ASSERT_TRUE(ref.connected_[rec.trace_weight_post[i]][rec.trace_weight_pre[i]])
        << rec.trace_weight_pre[i] << "->" << rec.trace_weight_post[i];

  auto close = [](double a, double b) {
    return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b)) + 1e-15;
  };
  std::int64_t phase_start = 0;
  std::size_t phase = 0;
  std::size_t mismatches = 0;
  double largest_weight_change = 0;
  for (std::int64_t s = 0; s < total; ++s) {
    if (phase < config.protocol.size() && s == phase_start) {
      if (config.protocol[phase].kind == seqlearn::PhaseKind::test && config.reset_transients)
        ref.reset_transients();
      phase_start += config.protocol[phase].steps;
      ++phase;
    }
    std::vector<bool> spiking(static_cast<std::size_t>(n_in + n), false);
    for (auto [id, step] : forced.inputs) {
      if (step == s) spiking[static_cast<std::size_t>(id)] = true;
    }
    for (auto [id, step] : forced.neurons) {
      if (step == s) spiking[static_cast<std::size_t>(n_in + id)] = true;
    }
    ref.step(spiking, config.protocol[phase - 1].learning);
    for (int k = 0; k < n; ++k) {
      const double u = rec.trace("u")[static_cast<std::size_t>(s) * n + k];
      const double p = rec.trace("p")[static_cast<std::size_t>(s) * n + k];
      const double x = rec.trace("readout")[static_cast<std::size_t>(s) * n + k];
      if (!close(u, ref.u_[k]) || !close(p, ref.p_[k]) || !close(x, ref.readout_[k])) {
        if (++mismatches < 5)
          ADD_FAILURE() << "step " << s << " neuron " << k << ": u " << u << " vs " << ref.u_[k]
                        << ", p " << p << " vs " << ref.p_[k] << ", x " << x << " vs "
                        << ref.readout_[k];
      }
    }
    for (std::size_t i = 0; i < m; ++i) {
      const double w = rec.synapse_trace("weight")[static_cast<std::size_t>(s) * m + i];
      const double w_ref = ref.w_[rec.trace_weight_post[i]][rec.trace_weight_pre[i]];
      largest_weight_change = std::max(
          largest_weight_change,
          std::abs(w_ref - ref.initial_w_[rec.trace_weight_post[i]][rec.trace_weight_pre[i]]));
      if (!close(w, w_ref) && ++mismatches < 5)
        ADD_FAILURE() << "step " << s << " synapse " << rec.trace_weight_pre[i] << "->"
                      << rec.trace_weight_post[i] << ": " << w << " vs " << w_ref;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // The comparison means something only if learning moved the weights.
  if (config.protocol[0].learning) {
    EXPECT_GT(largest_weight_change, 1e-3);
  }
}

// Random forced spikes: inputs at `input_hz`, each neuron at `neuron_hz`, for `steps` steps.
Forced random_forced(int n_inputs, int n_neurons, std::int64_t steps, double input_hz,
                     double neuron_hz, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Forced f;
  for (std::int64_t s = 0; s < steps; ++s) {
    for (int c = 0; c < n_inputs; ++c)
      if (u(gen) < input_hz * 1e-3) f.inputs.emplace_back(c, s);
    for (int k = 0; k < n_neurons; ++k)
      if (u(gen) < neuron_hz * 1e-3) f.neurons.emplace_back(k, s);
  }
  f.neurons.emplace_back(0, 0);  // make sure neuron rows exist
  return f;
}

}  // namespace

// docs/model.md section 10, row by row (the table gives 6 decimals).
TEST(WorkedExample, MatchesModelTable) {
  const Forced forced{{{0, 0}, {0, 1}, {0, 3}}, {{0, 2}, {0, 5}, {1, 4}}};
  const Config config = toy_config({{"network.grid", "1x1"},
                                    {"network.k_min", "2"},
                                    {"network.k_max", "2"},
                                    {"network.n_inputs", "1"},
                                    {"run.protocol", "train:6"}},
                                   forced, "worked_example");
  auto comm = seqlearn::make_local_communicator();
  Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
  sim.run();
  const auto& r = sim.record();
  ASSERT_EQ(r.trace_steps.size(), 6u);
  ASSERT_EQ(r.trace_weight_pre.size(), 2u);  // in -> n0, in -> n1
  const double u0[6] = {0, 0, 0, -0.008972, -0.010070, -0.010340};
  const double u1[6] = {0, 0, 0, 0, 0, -0.005031};
  const double p0[6] = {0.5, 0.5, 0.5, 0.497757, 0.497482, 0.498673};
  const double w0[6] = {0, 0, -0.01375, -0.01375, -0.01375, -0.019540};
  const double w1[6] = {0, 0, 0, 0, -0.006691, -0.006691};
  for (int n = 0; n < 6; ++n) {
    EXPECT_NEAR(r.trace("u")[2 * n], u0[n], 1e-6) << "u_0 at step " << n;
    EXPECT_NEAR(r.trace("u")[2 * n + 1], u1[n], 1e-6) << "u_1 at step " << n;
    EXPECT_NEAR(r.trace("p")[2 * n], p0[n], 1e-6) << "p_0 at step " << n;
    EXPECT_NEAR(r.synapse_trace("weight")[2 * n], w0[n], 1e-6) << "w(in->n0) at step " << n;
    EXPECT_NEAR(r.synapse_trace("weight")[2 * n + 1], w1[n], 1e-6) << "w(in->n1) at step " << n;
  }
  EXPECT_DOUBLE_EQ(r.synapse_trace("weight")[4],
                   -0.01375);  // eta/2 * (0.45 - 1), as worked by hand
  // Readout state of neuron 0 (spikes at 2 and 5): 0, 0, 1, 0.95, 0.9025, 0.857375 + 1.
  const double x0[6] = {0, 0, 1, 0.95, 0.9025, 1.857375};
  for (int n = 0; n < 6; ++n)
    EXPECT_DOUBLE_EQ(r.trace("readout")[2 * n], x0[n]) << "x_0 at step " << n;
}

// The thesis's toy models: 1x2 grid, K = 1 or 2, one input channel, 1 s, STP off / on.
class ToyModel : public testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(ToyModel, MatchesDenseReference) {
  const auto [k, stp] = GetParam();
  const Forced forced = random_forced(1, 2 * k, 1000, 40.0, 25.0, 7u + static_cast<unsigned>(k));
  const Config config = toy_config({{"network.grid", "1x2"},
                                    {"network.k_min", std::to_string(k)},
                                    {"network.k_max", std::to_string(k)},
                                    {"network.n_inputs", "1"},
                                    {"plasticity.use_stp", stp ? "true" : "false"},
                                    {"run.protocol", "train:1000"}},
                                   forced, "toy_" + std::to_string(k) + (stp ? "_stp" : ""));
  compare_with_dense(config, forced);
}

INSTANTIATE_TEST_SUITE_P(Thesis, ToyModel, testing::Combine(testing::Values(1, 2), testing::Bool()),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param) == 1 ? "K1" : "K2";
                           name.append(std::get<1>(info.param) ? "_stp_on" : "_stp_off");
                           return name;
                         });

// Every option of docs/model.md 4 that changes the arithmetic, on a bigger forced network.
TEST(DenseReference, SchedulesDelaysResetsAndInitialWeightsOff) {
  const Forced forced = random_forced(5, 12, 600, 20.0, 30.0, 11u);
  for (const auto& extra : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"plasticity.schedule", "inverse_time"}},
           {{"plasticity.schedule", "constant"}, {"plasticity.learning_rate", "0.01"}},
           {{"network.delay", "3"}},
           {{"plasticity.train_inputs", "false"}},
           {{"run.protocol", "train:400,test:200"}},
           {{"run.protocol", "train:400,test:200"},
            {"test.reset_transients", "false"},
            {"network.delay", "2"}}}) {
    auto overrides = extra;
    overrides.insert(overrides.end(), {{"network.grid", "2x2"},
                                       {"network.k_min", "3"},
                                       {"network.k_max", "3"},
                                       {"network.n_inputs", "5"},
                                       {"network.n_conn", "8"}});
    bool has_protocol = false;
    for (auto& [key, value] : overrides) has_protocol |= key == "run.protocol";
    if (!has_protocol) overrides.emplace_back("run.protocol", "train:600");
    SCOPED_TRACE(extra.front().first + " = " + extra.front().second);
    compare_with_dense(toy_config(overrides, forced, "dense_variant"), forced);
  }
}

// docs/model.md 11.1: pruned recurrent synapses and untrained circuits, against the dense
// reference that draws both from the documented rule; with log_uniform initial weights too.
TEST(DenseReference, PrunedSynapsesAndUntrainedCircuits) {
  const Forced forced = random_forced(4, 16, 500, 20.0, 30.0, 13u);
  for (const auto& extra : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"network.p_conn", "0.3"}, {"network.train_fraction", "0.5"}},
           {{"network.p_conn", "0.5"}, {"network.initial_weights", "log_uniform"}},
           {{"network.train_fraction", "0.5"}, {"network.delay", "2"}},
           {{"network.p_conn", "0"}, {"plasticity.schedule", "inverse_time"}}}) {
    auto overrides = extra;
    overrides.insert(overrides.end(), {{"network.grid", "2x2"},
                                       {"network.k_min", "4"},
                                       {"network.k_max", "4"},
                                       {"network.n_inputs", "4"},
                                       {"network.n_conn", "12"},
                                       {"run.protocol", "train:400,test:100"}});
    SCOPED_TRACE(extra.front().first + " = " + extra.front().second);
    const Config config = toy_config(overrides, forced, "dense_pruned");
    compare_with_dense(config, forced);
    // The mask means something: some circuits learn and some do not, some synapses go.
    auto comm = seqlearn::make_local_communicator();
    const Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
    DenseReference ref(config, sim.network());
    if (config.train_fraction == 0.5) {
      EXPECT_NE(std::count(ref.trained_.begin(), ref.trained_.end(), true), 0);
      EXPECT_NE(std::count(ref.trained_.begin(), ref.trained_.end(), false), 0);
    }
    const auto kept = sim.local_synapses() - 16u * 4u;  // less the input synapses
    if (config.p_conn == 0.0) {
      EXPECT_EQ(kept, 0u);
    } else if (config.p_conn < 1.0) {
      EXPECT_GT(kept, 0u);
      EXPECT_LT(kept, 16u * 12u);  // every circuit listens to the 3 others: 12 sources
    }
  }
}

// Sampled spikes: with learning off and zero weights every neuron has p = 1/K, so a circuit
// fires at r_max in total (lateral inhibition, docs/model.md 3).
TEST(Sampling, CircuitRateIsRmaxWithUniformPotentials) {
  const Config config = seqlearn::make_config(
      {{"network.grid", "4x5"}, {"run.protocol", "test:20000"}, {"record.dt_rec", "0"}});
  auto comm = seqlearn::make_local_communicator();
  Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
  sim.run();
  const double seconds = 20.0;
  const double circuits = 20.0;
  double expected = 0;  // sum over circuits of K (1 - exp(-r_max dt / K)) / dt
  for (int c = 0; c < 20; ++c) {
    const int K = sim.network().circuit_size(c);
    expected += K * (1.0 - std::exp(-100.0 * 1e-3 / K)) / 1e-3;
  }
  const double rate = static_cast<double>(sim.counters().network_spikes) / seconds;
  EXPECT_NEAR(rate, expected,
              5 * std::sqrt(expected * seconds) / seconds);  // 5 sigma of a Poisson count
  EXPECT_NEAR(rate / circuits, 100.0, 6.0);
}

// Learning from scratch on the default network moves weights and spreads them (smoke test
// with a real check: the variance-tracking state changes where weights change).
TEST(Learning, WeightsChangeOnlyThroughSpikes) {
  const Config config = seqlearn::make_config(
      {{"network.grid", "3x3"}, {"run.protocol", "train:2000"}, {"record.dt_rec", "0"}});
  auto comm = seqlearn::make_local_communicator();
  Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
  sim.run();
  std::size_t changed = 0;
  for (std::size_t s = 0; s < sim.weights().size(); ++s) {
    const bool moved = sim.weights()[s] != 0.0;
    changed += moved;
    EXPECT_EQ(moved, sim.variance_tracking_mean()[s] != 0.0);
    EXPECT_TRUE(std::isfinite(sim.weights()[s]));
  }
  EXPECT_GT(changed, sim.weights().size() * 9 / 10);
  EXPECT_EQ(sim.counters().stdp_updates > 0, true);
}

// Issue 9 (D20): the default record.neurons (random:20) traces every neuron of a smaller
// network; an explicit random:K above the network's neurons is still an error.
TEST(Recording, DefaultRandomSampleFitsSmallNetworks) {
  auto comm = seqlearn::make_local_communicator();
  const std::vector<std::pair<std::string, std::string>> tiny = {{"network.grid", "1x2"},
                                                                 {"network.k_min", "1"},
                                                                 {"network.k_max", "1"},
                                                                 {"run.protocol", "train:10"}};
  Simulator sim(seqlearn::make_config(tiny), *comm,
                seqlearn::load_simulator_inputs(seqlearn::make_config(tiny)));
  EXPECT_EQ(sim.record().trace_neurons.size(), 2u);
  auto explicit_k = tiny;
  explicit_k.emplace_back("record.neurons", "random:3");
  EXPECT_THROW(Simulator(seqlearn::make_config(explicit_k), *comm), seqlearn::ConfigError);
  explicit_k.back().second = "random:2";
  EXPECT_EQ(Simulator(seqlearn::make_config(explicit_k), *comm).record().trace_neurons.size(), 2u);
}

// docs/model.md 11.1 on a larger grid: the kept fraction of recurrent synapses and the
// trained fraction of circuits are Binomial(n, p), within 5 sigma.
TEST(NetworkOptions, KeptSynapsesAndTrainedCircuitsMatchTheirProbabilities) {
  auto comm = seqlearn::make_local_communicator();
  const Config config = seqlearn::make_config({{"network.grid", "30x30"},
                                               {"network.connectivity", "fixed_indegree"},
                                               {"network.n_inputs", "10"},
                                               {"network.p_conn", "0.3"},
                                               {"network.train_fraction", "0.3"},
                                               {"record.dt_rec", "0"},
                                               {"run.protocol", "test:1"}});
  const Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
  const seqlearn::Network& net = sim.network();
  double candidates = 0;  // recurrent synapses before pruning
  for (std::int64_t c = 0; c < net.n_circuits(); ++c)
    for (auto a : net.sources_of(c))
      candidates += static_cast<double>(net.circuit_size(c)) * net.circuit_size(a);
  const double kept =
      static_cast<double>(sim.local_synapses()) - 10.0 * static_cast<double>(net.n_neurons());
  EXPECT_GT(candidates, 1e5);
  EXPECT_NEAR(kept, 0.3 * candidates, 5 * std::sqrt(candidates * 0.3 * 0.7));
  const auto& trained = sim.circuit_trained();
  ASSERT_EQ(trained.size(), 900u);
  const double n_trained = static_cast<double>(std::count(trained.begin(), trained.end(), 1));
  EXPECT_NEAR(n_trained, 0.3 * 900, 5 * std::sqrt(900 * 0.3 * 0.7));
  // Every input synapse is kept: each neuron's row starts with all 10 channels.
  const auto sources = sim.synapse_sources();
  const auto targets = sim.synapse_targets();
  std::vector<int> inputs_of(static_cast<std::size_t>(net.n_neurons()), 0);
  for (std::size_t s = 0; s < sources.size(); ++s) inputs_of[targets[s]] += sources[s] < 10;
  EXPECT_EQ(std::count(inputs_of.begin(), inputs_of.end(), 10),
            static_cast<std::ptrdiff_t>(net.n_neurons()));
}

// docs/model.md 11.1: an untrained circuit's weights (log U(0,1)) and its S and Q never change
// over a train phase, while trained circuits learn.
TEST(NetworkOptions, UntrainedCircuitsNeverLearn) {
  const Config config = seqlearn::make_config({{"network.grid", "3x3"},
                                               {"network.p_conn", "0.5"},
                                               {"network.train_fraction", "0.5"},
                                               {"run.protocol", "train:3000"},
                                               {"record.dt_rec", "0"}});
  auto comm = seqlearn::make_local_communicator();
  const Simulator before(config, *comm, seqlearn::load_simulator_inputs(config));
  Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
  sim.run();
  const auto targets = sim.synapse_targets();
  ASSERT_EQ(sim.weights().size(), before.weights().size());
  std::size_t untrained_synapses = 0, trained_moved = 0, trained_synapses = 0;
  for (std::size_t s = 0; s < targets.size(); ++s) {
    const auto circuit = sim.network().circuit_of(targets[s]);
    if (sim.circuit_trained()[static_cast<std::size_t>(circuit)]) {
      ++trained_synapses;
      trained_moved += sim.weights()[s] != before.weights()[s];
      continue;
    }
    ++untrained_synapses;
    EXPECT_LT(before.weights()[s], 0.0);  // log U(0,1)
    ASSERT_EQ(sim.weights()[s], before.weights()[s]) << "synapse " << s;
    ASSERT_EQ(sim.variance_tracking_mean()[s], 0.0);
    ASSERT_EQ(sim.variance_tracking_second_moment()[s], 1.0);
  }
  EXPECT_GT(untrained_synapses, 0u);
  EXPECT_GT(trained_moved, trained_synapses * 9 / 10);
  EXPECT_GT(sim.counters().network_spikes, 1000u);
}

// record.trace_phases = test: traces (and weight traces) only at test-phase steps.
TEST(Recording, TracePhasesTestRecordsOnlyTestSteps) {
  const Config config =
      seqlearn::make_config({{"network.grid", "2x2"},
                             {"run.protocol", "train:50,test:30,train:20,test:10"},
                             {"record.dt_rec", "1"},
                             {"record.trace_phases", "test"}});
  auto comm = seqlearn::make_local_communicator();
  Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
  sim.run();
  const auto& r = sim.record();
  std::vector<std::int64_t> expected;
  for (std::int64_t s = 50; s < 80; ++s) expected.push_back(s);
  for (std::int64_t s = 100; s < 110; ++s) expected.push_back(s);
  EXPECT_EQ(r.trace_steps, expected);
  EXPECT_EQ(r.trace("p").size(), expected.size() * r.trace_neurons.size());
  EXPECT_EQ(r.synapse_trace("weight").size(), expected.size() * r.trace_weight_pre.size());
}

// record.trace_phases = pattern_test: only the test phases of the pattern task (the paper's
// xor_pattern protocol traces its 3 s pattern tests, not its 50 s xor tests).
TEST(Recording, TracePhasesPatternTestSkipsXorTests) {
  const Config config =
      seqlearn::make_config({{"network.grid", "2x2"},
                             {"run.protocol", "test:20,test:30:xor,train:20,test:10"},
                             {"record.dt_rec", "1"},
                             {"record.trace_phases", "pattern_test"}});
  auto comm = seqlearn::make_local_communicator();
  Simulator sim(config, *comm, seqlearn::load_simulator_inputs(config));
  sim.run();
  const auto& r = sim.record();
  std::vector<std::int64_t> expected;
  for (std::int64_t s = 0; s < 20; ++s) expected.push_back(s);
  for (std::int64_t s = 70; s < 80; ++s) expected.push_back(s);
  EXPECT_EQ(r.trace_steps, expected);
  EXPECT_EQ(r.trace("p").size(), expected.size() * r.trace_neurons.size());
}

// record.quantities: only the named quantities are recorded, and each holds what the run with
// every quantity holds (the choice changes what is kept, never the dynamics); without a synapse
// quantity the synapses are not sampled at all.
TEST(Recording, RecordQuantitiesKeepsOnlyTheNamedOnes) {
  const std::vector<std::pair<std::string, std::string>> base = {
      {"network.grid", "2x2"}, {"run.protocol", "train:60,test:20"}, {"record.dt_rec", "3"}};
  auto with = [&](const std::string& quantities) {
    auto overrides = base;
    overrides.emplace_back("record.quantities", quantities);
    return seqlearn::make_config(overrides);
  };
  auto comm = seqlearn::make_local_communicator();
  const Config all_config = seqlearn::make_config(base);
  Simulator all(all_config, *comm, seqlearn::load_simulator_inputs(all_config));
  all.run();
  const Config p_config = with("p");
  Simulator p_only(p_config, *comm, seqlearn::load_simulator_inputs(p_config));
  p_only.run();
  const auto& r = p_only.record();
  EXPECT_EQ(r.trace_names, std::vector<std::string>{"p"});
  EXPECT_TRUE(r.synapse_trace_names.empty());
  EXPECT_TRUE(r.trace_weight_pre.empty());
  EXPECT_THROW(r.trace("u"), std::out_of_range);
  ASSERT_FALSE(r.trace("p").empty());
  EXPECT_EQ(r.trace("p"), all.record().trace("p"));
  EXPECT_EQ(r.spike_step, all.record().spike_step);
  EXPECT_EQ(r.spike_neuron, all.record().spike_neuron);
  EXPECT_EQ(p_only.weights(), all.weights());

  const Config weight_config = with("weight");
  Simulator weight_only(weight_config, *comm, seqlearn::load_simulator_inputs(weight_config));
  weight_only.run();
  EXPECT_TRUE(weight_only.record().trace_names.empty());
  EXPECT_EQ(weight_only.record().synapse_trace("weight"), all.record().synapse_trace("weight"));
  EXPECT_EQ(weight_only.record().trace_weight_pre, all.record().trace_weight_pre);
}
