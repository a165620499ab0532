// One rank's share of the simulation: its circuits, their neurons, all synapses onto them,
// and the EPSP/STP state of every source those synapses listen to (docs/design.md 2, "owner
// computes"). The step loop follows docs/model.md section 4; see Simulator::step.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/exchange_word.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/network.hpp"
#include "seqlearn/rng.hpp"
#include "seqlearn/spike_router.hpp"
#include "seqlearn/state.hpp"
#include "seqlearn/threads.hpp"

namespace seqlearn {

// What one rank recorded (docs/model.md 8). Network spikes and traces are the rank's own neurons;
// input spikes and pattern labels are kept on rank 0 only (every rank has the same).
struct Record {
  std::int64_t first_step = 0;  // step of pattern_id[0] (a restored run starts later)
  std::vector<std::int64_t> spike_step;
  std::vector<std::uint64_t> spike_neuron;
  std::vector<std::int64_t> input_step;
  std::vector<std::uint32_t> input_channel;
  std::vector<std::uint8_t> input_from_pattern;
  std::vector<std::int32_t> pattern_id;      // [T][2]: per step, streams 1 and 2
  std::vector<std::int32_t> sequence_id;     // per step
  std::vector<std::int64_t> rate_step;       // multi task: steps where the groups' rates start
  std::vector<double> rate_value;            // [rate_step][groups], Hz
  std::vector<std::uint64_t> trace_neurons;  // this rank's traced neurons, ascending
  std::vector<std::int64_t> trace_steps;
  std::vector<double> trace_u;  // [T][trace_neurons]
  std::vector<double> trace_p;  // [T][trace_neurons]
  std::vector<double>
      trace_readout;  // [T][trace_neurons]: x_k at the end of the step (docs/model.md 8)
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
  double compute_s = 0;   // wall seconds in the step loop outside the spike exchange
  double exchange_s = 0;  // wall seconds in the spike exchange (the collective itself)
  // CPU seconds of this rank (all its threads) in the step loop outside the spike exchange
  // and checkpoints: the work a rank does, whether or not it had a core to itself.
  double compute_cpu_s = 0;
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

  // Checkpoints (docs/design.md 6; src/checkpoint.cpp). write_checkpoint is collective and
  // atomic (written as PATH.partial, then renamed). restore, before run(), loads the state of
  // a checkpoint written by any number of ranks; the config must come from resume_config.
  void write_checkpoint(const std::string& path);
  void restore(const std::string& path);

  std::int64_t first_step() const { return first_step_; }  // 0, or the checkpoint's step
  std::int64_t steps_done() const { return step_; }        // absolute: the next step to run

  const Config& config() const { return config_; }
  // Steps with learning so far (N_train of M7'), those of a restored checkpoint included.
  std::uint64_t learning_steps() const { return learning_steps_; }
  const InputGenerator& input() const { return input_; }
  const Network& network() const { return network_; }
  const Record& record() const { return record_; }
  const RunCounters& counters() const { return counters_; }
  const RunTimers& timers() const { return timers_; }
  int threads() const { return n_threads_; }
  const ThreadChoice& thread_choice() const { return thread_choice_; }
  // This rank's share of its node's cores (threads.hpp), for the warning in main.
  const CoreShare& core_share() const { return core_share_; }

  std::int64_t circuit_begin() const { return circuit_begin_; }
  std::int64_t circuit_end() const { return circuit_end_; }
  std::uint64_t neuron_begin() const { return neuron_begin_; }
  std::uint64_t neuron_end() const { return neuron_end_; }

  // This rank's synapses, in row order (by postsynaptic neuron, then source id).
  std::uint64_t local_synapses() const { return synapses_.size(); }
  const std::vector<double>& weights() const { return synapses_.weight; }
  const std::vector<double>& variance_tracking_mean() const { return synapses_.vt_mean; }
  const std::vector<double>& variance_tracking_second_moment() const { return synapses_.vt_second; }
  std::vector<std::uint64_t> synapse_sources() const;  // source ids (inputs, then n_inputs + g)
  std::vector<std::uint64_t> synapse_targets() const;  // neuron ids
  // Per local circuit: 1 if it learns (network.train_fraction, docs/model.md 11.1).
  const std::vector<std::uint8_t>& circuit_trained() const { return circuit_trained_; }

 private:
  // The steps [begin, end) between two spike exchanges (the delay, or less at a phase end).
  struct Interval {
    std::int64_t begin;
    std::int64_t end;
  };

  // Set-up.
  void init_sources();
  void init_synapses();
  void choose_traced_neurons();
  void partition_threads();

  // The step loop (docs/model.md 4); see step() for the order.
  // The first exception thrown inside a parallel region, carried out of it (run_interval).
  struct TeamFailure {
    std::exception_ptr any;
    std::exception_ptr inputs;  // from the input generator, which runs beside other work
  };
  void run_interval(const Interval& interval, bool learning);
  void step(std::int64_t n, const Interval& interval, bool learning, TeamFailure& failure);
  void update_circuits(std::int64_t n);
  void serial_part(std::int64_t n, const Interval& interval, bool learning);
  void force_neuron_spikes(std::int64_t n);
  void post_local_spikes(std::int64_t n, const Interval& interval);
  void receive_inputs(std::int64_t n, const Interval& interval);
  void record_traces(std::int64_t n);
  void exchange(const Interval& interval);
  void take_arrivals(std::int64_t n);
  // Where a thread reads and advances the sources' traces (M1, M6): sources_, or its copy.
  struct TraceView {
    double* decay;  // e_j
    double* rise;   // ê_j
    double* epsp;   // Y_j(n)
  };
  void advance_sources(const TraceView& traces, std::size_t j_begin, std::size_t j_end);
  TraceView traces_of(std::size_t thread);
  void copy_traces_to_threads();
  void propagate_and_learn(std::int64_t n, bool learning);
  void finish_step(std::int64_t n);
  void deliver(std::int64_t circuit_first, std::int64_t circuit_last,
               const std::vector<Arrival>& arrivals);
  void learn(std::uint64_t local_neuron, const double* epsp);
  static constexpr std::uint64_t kNoNeuron = ~std::uint64_t{0};
  void deliver_by_circuit(std::int64_t circuit_first, std::int64_t circuit_last,
                          const std::vector<Arrival>& arrivals, std::size_t n_leading_inputs);
  void recompute_sums(std::uint64_t k0, std::uint64_t k1, std::int64_t n, const TraceView& traces);
  void record_weights();
  void note_divergence(std::int64_t step, std::uint64_t neuron);
  std::int64_t local_circuit_of(std::uint64_t local_neuron) const;
  std::string remaining_protocol(bool& continues) const;

  Config config_;
  Communicator& comm_;
  CounterRng rng_;
  Network network_;
  InputGenerator input_;
  int n_threads_ = 1;
  // Whether the team shares out M1 and M6 of the sources. With fewer than kSharedSourcesMin
  // sources a thread's share saves less than the barrier and the cache lines passed between
  // cores cost: every thread then advances all sources, on a copy of the traces of its own
  // (thread_traces_[t] for t > 0; thread 0 on sources_).
  static constexpr std::size_t kSharedSourcesMin = 4096;
  bool share_sources_ = false;
  struct ThreadTraces {
    std::vector<double> decay, rise, epsp;
  };
  std::vector<ThreadTraces> thread_traces_;
  CoreShare core_share_;
  ThreadChoice thread_choice_;
  const double decay_factor_;  // 1 - dt/tau  (M6)
  const double rise_factor_;   // 1 - dt/tau2 (M6)

  // Ownership: circuits [circuit_begin_, circuit_end_), their neurons, and per thread a
  // contiguous share of them balanced by synapses.
  std::int64_t circuit_begin_ = 0, circuit_end_ = 0;
  std::uint64_t neuron_begin_ = 0, neuron_end_ = 0;
  std::vector<std::int64_t> thread_circuit_begin_;
  std::vector<std::uint32_t> local_circuit_of_neuron_;  // per local neuron
  std::vector<std::uint8_t> circuit_trained_;           // per local circuit (docs/model.md 11.1)
  std::vector<std::uint8_t> neuron_trained_;            // per local neuron: its circuit's
  bool all_trained_ = true;                             // every local circuit learns
  // Per thread, deliver_by_circuit's recurrent events (row position, amplitude) by circuit.
  struct PendingEvent {
    std::uint64_t position;
    double amplitude;
  };
  std::vector<std::vector<std::uint32_t>> thread_event_begin_;
  std::vector<std::vector<PendingEvent>> thread_events_;
  std::vector<std::vector<double>> thread_uniforms_;  // per thread: its neurons' M5 uniforms

  // Routing and state (spike_router.hpp, state.hpp).
  SpikeRouter router_;
  SourceParameters source_parameters_;
  SourceState sources_;
  NeuronState neurons_;
  SynapseRows synapses_;

  // The current exchange interval.
  std::vector<std::uint64_t> outgoing_;     // ExchangeWords: local spikes, control messages
  std::vector<std::uint64_t> incoming_;     // every rank's, as the exchange returned them
  ReceivedExchange received_;               // incoming_ decoded
  std::vector<InputStep> interval_inputs_;  // per step of the interval
  std::size_t forced_input_cursor_ = 0;
  std::size_t forced_neuron_cursor_ = 0;

  // Run state.
  std::int64_t step_ = 0;
  std::int64_t first_step_ = 0;
  std::uint64_t learning_steps_ = 0;  // N_train (M7')
  std::size_t phase_index_ = 0;
  std::int64_t phase_end_ = 0;
  bool trace_phase_ = true;  // record.trace_phases: the current phase's steps are traced
  InputGenerator::State restored_generator_;
  std::atomic<bool> stop_requested_{false};
  bool stop_agreed_ = false;
  bool checkpoint_published_ = false;  // this run has written config_.checkpoint_file
  std::mutex divergence_mutex_;
  std::optional<Divergence> divergence_;  // the first non-finite value seen on this rank

  Record record_;
  std::vector<std::uint64_t> traced_local_;  // local indices of traced neurons
  RunCounters counters_;
  RunTimers timers_;
  double excluded_cpu_s_ = 0;  // CPU seconds of exchanges and checkpoints (not compute)
};

}  // namespace seqlearn
