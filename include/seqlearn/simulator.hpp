// One rank's share of the simulation: its circuits, their neurons, all synapses onto them,
// and the EPSP/STP state of every source those synapses listen to (docs/design.md 2, "owner
// computes"). The step loop follows docs/model.md section 4; see Simulator::step.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/local_domain.hpp"
#include "seqlearn/network.hpp"
#include "seqlearn/plasticity.hpp"
#include "seqlearn/recorder.hpp"
#include "seqlearn/rng.hpp"
#include "seqlearn/spike_exchange.hpp"
#include "seqlearn/spike_router.hpp"
#include "seqlearn/state.hpp"
#include "seqlearn/thread_team.hpp"
#include "seqlearn/threads.hpp"

namespace seqlearn {

struct RunCounters {
  std::uint64_t network_spikes = 0;  // this rank's neurons
  std::uint64_t input_spikes = 0;    // all channels (same on every rank)
  std::uint64_t deliveries = 0;      // synaptic events: spike x local target synapse
  std::uint64_t stdp_updates = 0;    // synapses updated by M7-M11
};

struct RunTimers {
  double compute_s = 0;   // wall seconds in the step loop outside the spike exchange
  double exchange_s = 0;  // wall seconds in the spike exchange (the collective itself)
  // CPU seconds of this rank (all its threads) in the step loop outside the spike exchange
  // and checkpoints: the work a rank does, whether or not it had a core to itself.
  double compute_cpu_s = 0;
  double excluded_cpu_s = 0;  // CPU seconds of exchanges and checkpoints (not compute)
};

// Where the protocol stands (docs/model.md 6): the run's position, saved in checkpoints.
struct ProtocolPosition {
  std::int64_t step = 0;             // absolute: the next step to run
  std::int64_t first_step = 0;       // 0, or the checkpoint's step
  std::uint64_t learning_steps = 0;  // N_train (M7'), a restored checkpoint's included
  std::size_t phase_index = 0;
  std::int64_t phase_end = 0;
  bool trace_phase = true;  // record.trace_phases: the current phase's steps are traced
  InputGenerator::State restored_generator;  // the checkpointed phase's generator, to resume
  bool checkpoint_published = false;         // this run has written config.checkpoint_file
};

// What the model is handed from files, read by the I/O library (input_files.hpp:
// load_simulator_inputs): the model layer reads no file.
struct SimulatorInputs {
  std::vector<LoadedInputFile> files;  // the sources of input_file_sources(config), in order
  std::optional<ForcedSpikes> forced;  // validation.forced_spikes (docs/model.md 7), if named
};

// The inputs of the current exchange interval, and validation mode's forced spikes
// (docs/model.md 7) with where they stand.
struct IntervalInputs {
  std::vector<InputStep> steps;  // per step of the interval
  ForcedSpikes forced;
  std::size_t forced_input_cursor = 0;
  std::size_t forced_neuron_cursor = 0;
};

// What a checkpoint saves and restores, and what it needs to know to do so (written and read by
// the I/O library: checkpoint.hpp).
struct CheckpointParts {
  const Config& config;
  Communicator& comm;
  const Network& network;
  const LocalDomain& domain;
  SpikeRouter& router;  // the spikes in flight
  ModelState& state;
  InputGenerator& input;
  ProtocolPosition& position;
  IntervalInputs& interval_inputs;  // where validation mode's forced spikes stand
};

// Writes a checkpoint of the parts to a path (the I/O library's write_checkpoint).
using CheckpointWriter = std::function<void(const CheckpointParts&, const std::string&)>;

// The step loop of one rank over its parts: the local domain (what it owns), the spike router
// (who listens to what), the model state, the thread team, the spike exchange, the input
// generator and the recorder. Each part is built and tested alone; the simulator runs the
// protocol (phases, resets, checkpoint timing) and the steps, in the order of docs/model.md 4.
class Simulator {
 public:
  // `inputs` must hold what the config names (the file task's sources, the forced spikes):
  // std::logic_error otherwise.
  Simulator(const Config& config, Communicator& comm, SimulatorInputs inputs = {});

  enum class Outcome { completed, stopped };

  // Runs the protocol. `progress(steps_done, steps_total)` is called after every exchange
  // interval. Returns `stopped` if a stop was requested (a checkpoint has then been written
  // to config.checkpoint_file); throws DivergenceError if the dynamics diverge.
  Outcome run(const std::function<void(std::int64_t, std::int64_t)>& progress = {});

  // Asks every rank to stop at the end of the current exchange interval (the request travels
  // with the spike exchange, so all ranks stop at the same step). Async-signal-safe.
  void request_stop() { exchange_.request_stop(); }

  // Checkpoints (docs/design.md 6): run() writes them through `writer` (periodic ones, and at a
  // stop); a run that must checkpoint without one fails (std::logic_error). The parts are what
  // the I/O library's write_checkpoint and restore_checkpoint work on (checkpoint.hpp); a
  // restored run's config must come from resume_config.
  void set_checkpoint_writer(CheckpointWriter writer) { checkpoint_writer_ = std::move(writer); }
  CheckpointParts checkpoint_parts();

  std::int64_t first_step() const { return position_.first_step; }  // 0, or the checkpoint's
  std::int64_t steps_done() const { return position_.step; }  // absolute: the next step to run

  const Config& config() const { return config_; }
  // Steps with learning so far (N_train of M7'), those of a restored checkpoint included.
  std::uint64_t learning_steps() const { return position_.learning_steps; }
  const InputGenerator& input() const { return input_; }
  const Network& network() const { return network_; }
  const LocalDomain& domain() const { return domain_; }
  const Record& record() const { return recorder_.record(); }
  const RunCounters& counters() const { return counters_; }
  const SpikeExchange& spike_exchange() const { return exchange_; }
  const SpikeRouter& router() const { return router_; }
  const RunTimers& timers() const { return timers_; }
  int threads() const { return team_.size(); }
  const ThreadChoice& thread_choice() const { return team_.choice(); }
  // This rank's share of its node's cores (threads.hpp), for the warning in main.
  const CoreShare& core_share() const { return team_.core_share(); }

  // This rank's synapses, in row order (by postsynaptic neuron, then source id).
  std::uint64_t local_synapses() const { return state_.synapses.size(); }
  const std::vector<double>& weights() const { return state_.synapses.weight; }
  const std::vector<double>& variance_tracking_mean() const {
    return state_.synapses.variance_tracking_mean;
  }
  const std::vector<double>& variance_tracking_second_moment() const {
    return state_.synapses.variance_tracking_second_moment;
  }
  // Where each local neuron's row starts among them (n_neurons + 1 values).
  const std::vector<std::uint64_t>& synapse_row_begin() const { return state_.synapses.row_begin; }
  std::vector<std::uint64_t> synapse_sources() const;  // source ids (inputs, then n_inputs + g)
  std::vector<std::uint64_t> synapse_targets() const;  // neuron ids
  // Per local circuit: 1 if it learns (network.train_fraction, docs/model.md 11.1).
  const std::vector<std::uint8_t>& circuit_trained() const { return domain_.circuit_trained(); }

 private:
  // The steps [begin, end) between two spike exchanges (the delay, or less at a phase end).
  struct ExchangeInterval {
    std::int64_t begin;
    std::int64_t end;
  };

  // Set-up.
  ModelState initial_state() const;
  ThreadTeam make_team() const;

  // The protocol.
  void start_phase(const Phase& phase);

  // The step loop (docs/model.md 4); see step() for the order.
  // The first exception thrown inside a parallel region, carried out of it (run_interval).
  struct TeamFailure {
    std::exception_ptr any;
    std::exception_ptr inputs;  // from the input generator, which runs beside other work
  };
  void run_interval(const ExchangeInterval& interval, bool learning);
  void step(std::size_t t, std::int64_t n, const ExchangeInterval& interval, bool learning,
            TeamFailure& failure);
  void update_circuits(std::size_t t, std::int64_t n);
  void serial_part(std::int64_t n, const ExchangeInterval& interval, bool learning);
  void force_neuron_spikes(std::int64_t n);
  void post_local_spikes(std::int64_t n, const ExchangeInterval& interval);
  void receive_inputs(std::int64_t n, const ExchangeInterval& interval);
  void exchange(const ExchangeInterval& interval);
  // Where a thread reads and advances the sources' traces (M1, M6): the sources', or its copy.
  struct TraceView {
    double* decay;  // e_j
    double* rise;   // ê_j
    double* epsp;   // Y_j(n)
  };
  void advance_sources(const TraceView& traces, std::size_t j_begin, std::size_t j_end,
                       const std::vector<Arrival>& arrivals);
  TraceView traces_of(std::size_t thread);
  void copy_traces_to_threads();
  void propagate_and_learn(std::size_t t, std::int64_t n, bool learning);
  void finish_step(std::int64_t n);
  void deliver(std::size_t t, std::int64_t circuit_first, std::int64_t circuit_last,
               const std::vector<Arrival>& arrivals);
  void learn(std::uint64_t local_neuron, const double* epsp);
  static constexpr std::uint64_t kNoNeuron = ~std::uint64_t{0};
  void deliver_by_circuit(ThreadSlot& slot, std::int64_t circuit_first, std::int64_t circuit_last,
                          const std::vector<Arrival>& arrivals, std::size_t n_leading_inputs);
  void recompute_sums(std::uint64_t k0, std::uint64_t k1, std::int64_t n, const TraceView& traces);
  void write_checkpoint();

  Config config_;
  Communicator& comm_;
  CounterRng rng_;
  Network network_;
  InputGenerator input_;
  const double decay_factor_;                   // 1 - dt/tau  (M6)
  const double rise_factor_;                    // 1 - dt/tau2 (M6)
  std::unique_ptr<const PlasticityRule> rule_;  // plasticity.schedule

  LocalDomain domain_;  // the circuits and neurons this rank owns
  Recorder recorder_;   // what the rank records, of its neurons (and inputs on rank 0)
  SpikeRouter router_;  // the sources they listen to, and the arrivals queued for them
  ModelState state_;    // sources, neurons, synapses (state.hpp)
  ThreadTeam team_;     // threads, their circuits and their slots
  SpikeExchange exchange_;
  IntervalInputs interval_inputs_;
  ProtocolPosition position_;
  RunCounters counters_;
  RunTimers timers_;
  CheckpointWriter checkpoint_writer_;
};

}  // namespace seqlearn
