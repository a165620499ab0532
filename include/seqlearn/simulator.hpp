// One rank's share of the simulation: its circuits, their neurons, all synapses onto them,
// and the EPSP/STP state of every source those synapses listen to (DESIGN.md 2, "owner
// computes"). The step loop follows MODEL.md section 4; see Simulator::step.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/network.hpp"
#include "seqlearn/rng.hpp"

namespace seqlearn {

// What one rank recorded (MODEL.md 8). Network spikes and traces are the rank's own neurons;
// input spikes and pattern labels are kept on rank 0 only (every rank has the same).
struct Record {
  std::int64_t first_step = 0;  // step of pattern_id[0] (a restored run starts later)
  std::vector<std::int64_t> spike_step;
  std::vector<std::uint64_t> spike_neuron;
  std::vector<std::int64_t> input_step;
  std::vector<std::uint32_t> input_channel;
  std::vector<std::uint8_t> input_from_pattern;
  std::vector<std::int32_t> pattern_id;      // per step
  std::vector<std::int32_t> sequence_id;     // per step
  std::vector<std::uint64_t> trace_neurons;  // this rank's traced neurons, ascending
  std::vector<std::int64_t> trace_steps;
  std::vector<double> trace_u;        // [T][trace_neurons]
  std::vector<double> trace_p;        // [T][trace_neurons]
  std::vector<double> trace_readout;  // [T][trace_neurons]: x_k at the end of the step (MODEL 8)
  std::vector<std::uint64_t> trace_weight_pre;   // [m] source ids of the traced neurons' synapses
  std::vector<std::uint64_t> trace_weight_post;  // [m]
  std::vector<double> trace_weight;              // [T][m], at the end of each recorded step
};

// The dynamics produced a non-finite potential, rate or weight. Every rank throws it at the
// same exchange (the report travels with the spikes), with the same message.
class DivergenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunCounters {
  std::uint64_t network_spikes = 0;  // this rank's neurons
  std::uint64_t input_spikes = 0;    // all channels (same on every rank)
  std::uint64_t deliveries = 0;      // synaptic events: spike x local target synapse
  std::uint64_t stdp_updates = 0;    // synapses updated by M7-M11
};

struct RunTimers {
  double compute_s = 0;
  double exchange_s = 0;
};

class Simulator {
 public:
  Simulator(const Config& config, Communicator& comm);

  enum class Outcome { completed, stopped };

  // Runs the protocol. `progress(steps_done, steps_total)` is called after every exchange
  // interval. Returns `stopped` if a stop was requested (a checkpoint has then been written
  // to config.checkpoint_file); throws DivergenceError if the dynamics diverge.
  Outcome run(const std::function<void(std::int64_t, std::int64_t)>& progress = {});

  // Asks every rank to stop at the end of the current exchange interval (the request travels
  // with the spike exchange, so all ranks stop at the same step). Async-signal-safe.
  void request_stop() { stop_requested_.store(true); }

  // Checkpoints (DESIGN.md 6; src/checkpoint.cpp). write_checkpoint is collective and
  // atomic (written as PATH.partial, then renamed). restore, before run(), loads the state of
  // a checkpoint written by any number of ranks; the config must come from resume_config.
  void write_checkpoint(const std::string& path);
  void restore(const std::string& path);

  std::int64_t first_step() const { return first_step_; }  // 0, or the checkpoint's step
  std::int64_t steps_done() const { return step_; }        // absolute: the next step to run

  const Config& config() const { return config_; }
  const Network& network() const { return network_; }
  const Record& record() const { return record_; }
  const RunCounters& counters() const { return counters_; }
  const RunTimers& timers() const { return timers_; }
  int threads() const { return n_threads_; }

  std::int64_t circuit_begin() const { return circuit_begin_; }
  std::int64_t circuit_end() const { return circuit_end_; }
  std::uint64_t neuron_begin() const { return neuron_begin_; }
  std::uint64_t neuron_end() const { return neuron_end_; }

  // This rank's synapses, in row order (by postsynaptic neuron, then source id).
  std::uint64_t local_synapses() const { return weight_.size(); }
  const std::vector<double>& weights() const { return weight_; }
  const std::vector<double>& variance_tracking_mean() const { return vt_mean_; }
  const std::vector<double>& variance_tracking_second_moment() const { return vt_second_; }
  std::vector<std::uint64_t> synapse_sources() const;  // source ids (inputs, then n_inputs + g)
  std::vector<std::uint64_t> synapse_targets() const;  // neuron ids

 private:
  // A contiguous run of one row: `count` synapses from consecutive sources.
  struct Block {
    std::uint32_t first_source;  // local source index
    std::uint32_t count;
    std::uint64_t row_offset;
  };
  // Neurons of local circuit `circuit` listen to a source circuit at `row_offset` of each row.
  struct Target {
    std::uint32_t circuit;
    std::uint64_t row_offset;
  };
  // A spike reaching the EPSP traces at a given step (MODEL 4: after `delay` - 1 steps).
  struct Arrival {
    std::uint32_t source;          // local source index
    std::uint32_t source_circuit;  // index into needed_circuits_, or kInput
    std::uint32_t offset;          // position in its circuit (or the channel)
    double amplitude;              // R*u at emission (M6)
  };
  static constexpr std::uint32_t kInput = std::numeric_limits<std::uint32_t>::max();

  void build_local_network();
  void choose_traced_neurons();
  void reset_transients(std::int64_t step);
  void step(std::int64_t n, bool learning, std::int64_t interval_start, bool exchange_now);
  void update_circuit(std::int64_t local_circuit, std::int64_t n, bool sample);
  void exchange(std::int64_t interval_start, std::int64_t interval_steps);
  void deliver(std::int64_t circuit_first, std::int64_t circuit_last,
               const std::vector<Arrival>& arrivals);
  void learn(std::uint64_t local_neuron);
  void record_weights();
  std::uint32_t source_index_of_neuron(std::uint64_t neuron) const;
  std::uint64_t global_source_id(std::uint32_t local_source) const;
  std::vector<std::uint64_t> row_sources(std::int64_t local_circuit) const;
  std::string remaining_protocol(bool& continues) const;
  void note_divergence(std::uint64_t neuron, std::int64_t step);

  Config config_;
  Communicator& comm_;
  CounterRng rng_;
  Network network_;
  InputGenerator input_;
  int n_threads_ = 1;
  const double decay_factor_;  // 1 - dt/tau  (M6)
  const double rise_factor_;   // 1 - dt/tau2 (M6)

  // Ownership.
  std::int64_t circuit_begin_ = 0, circuit_end_ = 0;
  std::uint64_t neuron_begin_ = 0, neuron_end_ = 0;
  std::vector<std::int64_t> thread_circuit_begin_;  // per thread, balanced by synapses

  // Local circuits and rows.
  std::vector<std::uint64_t> circuit_block_begin_;  // CSR into blocks_
  std::vector<Block> blocks_;
  std::vector<std::uint64_t> row_begin_;  // per local neuron, + 1

  // Synapses onto local neurons (structure of arrays, row per neuron).
  std::vector<double> weight_;     // w_kj (M2, M9)
  std::vector<double> vt_mean_;    // S_kj (M10)
  std::vector<double> vt_second_;  // Q_kj (M11)

  // Sources: input channels, then the neurons of every circuit with a local target.
  std::vector<std::int32_t> needed_index_of_circuit_;  // per global circuit, -1 if not needed
  std::vector<std::uint32_t> needed_circuits_;
  std::vector<std::uint32_t> needed_first_source_;
  std::vector<std::uint64_t> target_begin_;  // CSR per needed circuit into targets_
  std::vector<Target> targets_;
  std::vector<std::uint64_t> target_neurons_;      // per needed circuit: local neurons it reaches
  std::vector<double> trace_decay_;                // e_j (M6)
  std::vector<double> trace_rise_;                 // ê_j (M6)
  std::vector<double> epsp_;                       // Y_j(n) = e_j - ê_j (M1), this step's value
  std::vector<double> stp_R_, stp_u_;              // M12, M13
  std::vector<double> stp_U_, stp_D_s_, stp_F_s_;  // per-source parameters (MODEL 2)
  std::vector<std::int64_t> last_spike_;           // isi_j = (n - last_spike_j - 1) dt (M14)

  // Local neurons.
  std::vector<double> weighted_decay_;  // sum_j w_kj e_j: event-driven part of u_k (M2)
  std::vector<double> weighted_rise_;   // sum_j w_kj ê_j
  std::vector<double> bias_;            // w_k0 (0: use_priors is off)
  std::vector<double> potential_;       // u_k(n) (M2)
  std::vector<double> rate_fraction_;   // p_k(n) (M3)
  std::vector<std::uint8_t> spiked_;    // z_k(n) (M5)
  std::vector<double> readout_;         // x_k <- x_k (1 - dt/tau) + z_k: readout state (MODEL 8)

  // Exchange interval.
  std::vector<std::uint64_t> interval_spikes_;  // (step offset << 40) | neuron id, local
  std::vector<InputStep> interval_inputs_;
  std::vector<std::vector<Arrival>> arrivals_;  // ring of `delay` steps
  std::size_t forced_input_cursor_ = 0;
  std::size_t forced_neuron_cursor_ = 0;

  // Run state.
  std::int64_t step_ = 0;
  std::int64_t first_step_ = 0;
  std::uint64_t learning_steps_ = 0;  // N_train (M7')
  std::size_t phase_index_ = 0;
  std::int64_t phase_end_ = 0;
  InputGenerator::State restored_generator_;
  std::atomic<bool> stop_requested_{false};
  bool stop_agreed_ = false;
  std::atomic<std::uint64_t> diverged_neuron_{std::numeric_limits<std::uint64_t>::max()};
  std::atomic<std::int64_t> diverged_step_{std::numeric_limits<std::int64_t>::max()};

  Record record_;
  std::vector<std::uint64_t> traced_local_;  // local indices of traced neurons
  RunCounters counters_;
  RunTimers timers_;
};

}  // namespace seqlearn
