#include "seqlearn/simulator.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <set>
#include <span>
#include <string>

#include "seqlearn/kernels.hpp"
#include "seqlearn/scoped_timer.hpp"
#include "seqlearn/threads.hpp"

namespace seqlearn {
namespace {

// Runs f, keeping the first exception it throws for after the parallel region (exceptions
// must not leave one).
template <class F>
void guarded(std::exception_ptr& failure, F&& f) noexcept {
  try {
    f();
  } catch (...) {
#pragma omp critical(seqlearn_failure)
    if (!failure) failure = std::current_exception();
  }
}

// M6 for one neuron's weighted sums in one step: decay by the factors, then add w_kj R_j u_j
// of the step's leading inputs and then of its recurrent events, in that order. deliver and
// deliver_by_circuit both go through it: their bit-identity rests on it.
[[gnu::always_inline]] inline void neuron_sums_step(
    double& decay, double& rise, double decay_factor, double rise_factor, const double* row,
    const Arrival* inputs, std::size_t n_inputs, const PendingEvent* events, std::size_t n_events) {
  double d = decay * decay_factor;
  double r = rise * rise_factor;
  for (std::size_t i = 0; i < n_inputs; ++i) {
    const double contribution = row[inputs[i].offset] * inputs[i].amplitude;
    d += contribution;
    r += contribution;
  }
  for (std::size_t e = 0; e < n_events; ++e) {
    const double contribution = row[events[e].position] * events[e].amplitude;
    d += contribution;
    r += contribution;
  }
  decay = d;
  rise = r;
}

// The files a config names, as the caller loaded them (a programming error if it did not: the
// run would silently replay nothing or force nothing).
const Config& with_inputs_loaded(const Config& config, const SimulatorInputs& inputs) {
  if (inputs.files.size() != input_file_sources(config).size())
    throw std::logic_error(
        "Simulator: the input files the config names were not loaded "
        "(load_simulator_inputs)");
  if (!config.forced_spikes_file.empty() && !inputs.forced)
    throw std::logic_error(
        "Simulator: validation.forced_spikes was not loaded "
        "(load_simulator_inputs)");
  return config;
}

// The limits of the exchange word (exchange_word.hpp), checked before any part is built. The
// option table's ranges keep every Config that build_config makes within them (k_max <= 1000,
// network.delay <= 1000, a grid of < 2^31 circuits: tests/test_router.cpp checks the margins),
// so a Config beyond them is a programming error, not a user's: validation is build_config's.
const Config& within_exchange_limits(const Config& config) {
  if (static_cast<std::uint64_t>(config.n_circuits()) > ExchangeWord::kMaxCircuits ||
      static_cast<std::uint64_t>(config.k_max) > ExchangeWord::kMaxCircuitSize ||
      config.delay_steps >= ExchangeWord::kMaxIntervalSteps)
    throw std::logic_error(
        "Simulator: network.grid, network.k_max or network.delay beyond the exchange word's "
        "limits (exchange_word.hpp); build_config's ranges keep them within");
  return config;
}

// Spikes expected per exchange interval: every circuit fires at r_max in all (M3-M5).
double expected_words(const Config& config) {
  return static_cast<double>(config.n_circuits()) * config.r_max_hz * config.dt_s() *
         static_cast<double>(config.delay_steps);
}

// run.exchange; none: auto.
std::optional<ExchangeMode> exchange_mode(ExchangeChoice choice) {
  switch (choice) {
    case ExchangeChoice::allgather:
      return ExchangeMode::allgather;
    case ExchangeChoice::directed:
      return ExchangeMode::directed;
    case ExchangeChoice::automatic:
      break;
  }
  return std::nullopt;
}

// The order of received spikes (receive_exchange): tiles, whose ranks' ids interleave, by grid
// row; strips by step alone (ranks ascend with their ids).
GridRows spike_order(const Network& network) {
  if (network.partition().shape() == PartitionShape::strips) return {};
  return {static_cast<std::uint64_t>(network.rows()), static_cast<std::uint64_t>(network.cols())};
}

// The network, partitioned as run.partition says; auto: the shape whose ranks, all together,
// listen to fewer sources (the halo, docs/scaling.md), each rank counting its own under both
// (collective; the same choice on every rank).
Network partitioned_network(const Config& config, Communicator& comm) {
  Network network(config, comm.size());
  if (config.partition != PartitionChoice::automatic || comm.size() == 1) return network;
  Partition tiles = network.make_partition(PartitionShape::tiles);
  const std::uint64_t strips_halo =
      comm.sum(network.needed_neurons(network.circuits_of_rank(comm.rank())));
  const std::uint64_t tiles_halo = comm.sum(network.needed_neurons(tiles.runs_of(comm.rank())));
  if (tiles_halo < strips_halo) network.set_partition(std::move(tiles));
  return network;
}

}  // namespace

// The parts in the order they need each other: the network, then what this rank owns and
// records, who its neurons listen to, their state, the threads that share it out.
Simulator::Simulator(const Config& config, Communicator& comm, SimulatorInputs inputs)
    : config_(within_exchange_limits(with_inputs_loaded(config, inputs))),
      comm_(comm),
      rng_(config.seed),
      network_(partitioned_network(config_, comm)),
      input_(config_, rng_, inputs.files),
      decay_factor_(1.0 - config.dt_ms / config.tau_decay_ms),
      rise_factor_(1.0 - config.dt_ms / config.tau_rise_ms),
      rule_(make_rule(config.schedule, config)),
      domain_(network_, comm.rank()),
      recorder_(config_, network_, domain_, rng_),
      router_(network_, domain_.circuits(), config.delay_steps),
      state_(initial_state()),
      team_(make_team()),
      exchange_(comm,
                find_listeners(comm, static_cast<std::uint64_t>(network_.n_circuits()),
                               spike_order(network_), network_.circuits_of_rank(comm.rank()),
                               router_.needed_circuits()),
                exchange_mode(config.exchange), expected_words(config)) {
  interval_inputs_.steps.resize(static_cast<std::size_t>(config.delay_steps));
  if (inputs.forced) interval_inputs_.forced = std::move(*inputs.forced);
}

// --- Set-up -----------------------------------------------------------------------------

// The sources: their STP parameters (docs/model.md 2), then their initial state. The
// neurons: at rest. The synapses: one row per local neuron in its circuit's layout (its own
// with p_conn < 1); weights zero or log U(0,1) (docs/model.md 4.6; always log U(0,1) in an
// untrained circuit, 11.1), S = 0, Q = 1. The uniform is keyed by (neuron, position in its row).
ModelState Simulator::initial_state() const {
  ModelState state;
  const std::uint32_t n = router_.n_sources();
  SourceParameters& parameters = state.source_parameters;
  parameters.U.resize(n);
  parameters.D_s.resize(n);
  parameters.F_s.resize(n);
  router_.for_each_source_run([&](std::uint64_t id, std::uint32_t j, std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      const StpParameters p = network_.stp_parameters(id + i);
      parameters.U[j + i] = p.U;
      parameters.D_s[j + i] = p.D_s;
      parameters.F_s[j + i] = p.F_s;
    }
  });
  state.sources.reset(parameters, 0);
  state.neurons = NeuronState(domain_.n_neurons());
  std::vector<std::uint64_t> row_lengths;
  row_lengths.reserve(domain_.n_neurons());
  for (std::size_t k = 0; k < domain_.n_neurons(); ++k)
    row_lengths.push_back(router_.neuron_row_local_sources(k, domain_.circuit_of_neuron(k)).size());
  state.synapses = SynapseRows(row_lengths);
  SynapseRows& synapses = state.synapses;
  for (std::size_t k = 0; k < domain_.n_neurons(); ++k) {
    if (config_.initial_weights != InitialWeights::log_uniform && domain_.neuron_trained(k))
      continue;
    for (std::uint64_t i = 0; i < synapses.row_length(k); ++i)
      synapses.weight[synapses.row_begin[k] + i] =
          std::log(rng_.uniform(Purpose::initial_weight, domain_.global_neuron(k), i));
  }
  return state;
}

// The team: as many threads as this rank's share of the cores and its synapses call for
// (threads.hpp), each owning contiguous circuits of about equal synapse counts.
ThreadTeam Simulator::make_team() const {
  const CoreShare share = seqlearn::core_share(comm_);
  ThreadChoice choice = choose_threads(config_.threads, state_.synapses.size(), share);
  std::vector<double> circuit_work;
  std::vector<std::uint64_t> circuit_neurons;
  for (std::int64_t b = 0; b < domain_.n_circuits(); ++b) {
    circuit_work.push_back(static_cast<double>(
        router_.circuit_synapses(b) + static_cast<std::uint64_t>(domain_.circuit_size(b))));
    circuit_neurons.push_back(domain_.first_neuron(b));
  }
  circuit_neurons.push_back(domain_.first_neuron(domain_.n_circuits()));
  return ThreadTeam(std::move(choice), share, circuit_work, circuit_neurons,
                    state_.sources.trace_decay.size());
}

std::vector<std::uint64_t> Simulator::synapse_sources() const {
  std::vector<std::uint64_t> sources;
  sources.reserve(state_.synapses.size());
  for (std::int64_t b = 0; b < domain_.n_circuits(); ++b) {
    const std::uint64_t first = domain_.first_neuron(b);
    if (!router_.per_neuron_rows()) {
      const auto row = router_.row_sources(b);
      for (int k = 0; k < domain_.circuit_size(b); ++k)
        sources.insert(sources.end(), row.begin(), row.end());
      continue;
    }
    for (int i = 0; i < domain_.circuit_size(b); ++i) {
      const auto row = router_.neuron_row_sources(first + static_cast<std::uint64_t>(i), b);
      sources.insert(sources.end(), row.begin(), row.end());
    }
  }
  return sources;
}

std::vector<std::uint64_t> Simulator::synapse_targets() const {
  std::vector<std::uint64_t> targets;
  targets.reserve(state_.synapses.size());
  for (std::size_t k = 0; k < state_.neurons.size(); ++k)
    targets.insert(targets.end(), state_.synapses.row_length(k), domain_.global_neuron(k));
  return targets;
}

// --- Checkpoints (src/checkpoint.cpp) -------------------------------------------------------

CheckpointParts Simulator::checkpoint_parts() {
  return {config_, comm_, network_, domain_, router_, state_, input_, position_, interval_inputs_};
}

// To config.checkpoint_file, through the writer; its time is not compute.
void Simulator::write_checkpoint() {
  if (!checkpoint_writer_)
    throw std::logic_error("a checkpoint is due but the simulator has no checkpoint writer");
  const ScopedCpuTimer not_compute(timers_.excluded_cpu_s);
  checkpoint_writer_(checkpoint_parts(), config_.checkpoint_file);
}

// --- The run ------------------------------------------------------------------------------

// The protocol: its phases in order, each started (start_phase) and run in exchange
// intervals of `delay` steps aligned to the phase start (docs/model.md 4, docs/design.md 3);
// after each interval progress, then a stop every rank agreed on (checkpoint, return; not at
// the protocol's end, where the run is complete), then a periodic checkpoint when one is due.
Simulator::Outcome Simulator::run(const std::function<void(std::int64_t, std::int64_t)>& progress) {
  const std::int64_t total = config_.total_steps();
  recorder_.start(position_.first_step, total, comm_.rank() == 0);
  const std::int64_t every = config_.checkpoint_every_steps;
  std::int64_t last_checkpoint = -1;
  // compute_cpu_s: the loop's CPU time less the exchanges' (on several ranks) and the
  // checkpoints', however run() returns.
  struct LoopCpu {
    RunTimers& timers;
    const double start = process_cpu_s();
    const double excluded_before = timers.excluded_cpu_s;
    ~LoopCpu() {
      timers.compute_cpu_s += process_cpu_s() - start - (timers.excluded_cpu_s - excluded_before);
    }
  } loop_cpu{timers_};
  copy_traces_to_threads();
  for (position_.phase_index = 0; position_.phase_index < config_.protocol.size();
       ++position_.phase_index) {
    const Phase& phase = config_.protocol[position_.phase_index];
    start_phase(phase);
    while (position_.step < position_.phase_end) {
      const ExchangeInterval interval{
          position_.step, std::min(position_.step + config_.delay_steps, position_.phase_end)};
      run_interval(interval, phase.learning);
      position_.step = interval.end;
      if (progress) progress(position_.step - position_.first_step, total);
      // A stop agreed at the protocol's last step stops nothing: the run is complete (and a
      // checkpoint of a complete protocol could not be continued).
      const bool protocol_done = position_.phase_index + 1 == config_.protocol.size() &&
                                 position_.step == position_.phase_end;
      if (exchange_.stop_agreed() && !protocol_done) {
        write_checkpoint();
        return Outcome::stopped;
      }
      if (every > 0 && position_.step / every > interval.begin / every) {
        write_checkpoint();
        last_checkpoint = position_.step;
      }
    }
  }
  if (every > 0 && last_checkpoint != position_.step) write_checkpoint();
  return Outcome::completed;
}

// A phase's input task restarts, or continues a checkpointed phase. docs/model.md 6: a test
// phase starts from initial EPSP, STP and readout state; weights, S and Q stay. Spikes in
// flight are dropped with the traces.
void Simulator::start_phase(const Phase& phase) {
  const InputSettings settings = config_.input_settings(phase);
  if (phase.continues) {
    input_.resume(settings, position_.restored_generator);
  } else {
    input_.start_phase(settings);
    if (phase.kind == PhaseKind::test && config_.reset_transients) {
      state_.sources.reset(state_.source_parameters, position_.step);
      copy_traces_to_threads();
      state_.neurons.reset_transients();
      router_.clear_arrivals();
    }
  }
  position_.phase_end = position_.step + phase.steps;
  position_.trace_phase = config_.traces_phase(phase);
}

// The steps of one exchange interval in one parallel region: every thread of the team runs
// step() for every step, and the work is shared inside it (one team per interval, not one
// per sub-step: waking threads costs more than a small step's work). An exception inside the
// region (a divergence reported by the exchange, a failed allocation) is carried out of it
// and rethrown once every thread has left.
void Simulator::run_interval(const ExchangeInterval& interval, bool learning) {
  const auto start = std::chrono::steady_clock::now();
  const double exchange_before = timers_.exchange_s;
  TeamFailure failure;
  team_.run(failure.any, [&](std::size_t t) {
    for (std::int64_t n = interval.begin; n < interval.end && !failure.any; ++n)
      step(t, n, interval, learning, failure);
  });
  if (failure.any) std::rethrow_exception(failure.any);
  finish_step(interval.end - 1);
  timers_.compute_s +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() -
      (timers_.exchange_s - exchange_before);
}

// One step n, run by every thread of the team, in the order of docs/model.md section 4:
//   4.   receive_inputs: x_j(n) from the input generator, identical on every rank
//        (docs/model.md 5), or forced; one thread, while the others start on 2-3. Inputs act
//        only through the exchange, so generating them first changes nothing.
//   2-3. update_circuits: u_k and p_k of this thread's neurons, u from the event-driven sums
//        of w*e and w*ê (M2-M4); z_k(n) sampled (M5)
//   then the serial part, on one thread (serial_part): forced spikes instead (docs/model.md
//        7); post_local_spikes: readouts x_k (docs/model.md 8), spikes into the exchange and
//        the record; at the last step of an interval the exchange: one Allgather of the
//        interval's local spikes (on the main thread: MPI is called from it alone); then, in
//        step order, each spike's amplitude R*u is queued for step s + delay - 1 and its
//        source's STP state advanced (M12-M14). STP state is used only at a source's next
//        spike, so advancing it here changes nothing. Then this step's arrivals.
//   1, 5-6. propagate_and_learn: Y_j(n) = e_j - ê_j (M1) and the EPSP traces' decay and
//        arrivals (M6) for every source, shared out among the threads when there are many,
//        else done by every thread on its own copy (advance_sources); then each thread's
//        neurons: weighted sums (M6) and, for those that spiked, STDP with Y(n) (M7-M11),
//        their weighted sums recomputed from the new weights.
// Step n's arrivals are cleared and its weights recorded by finish_step, at the next step's
// serial part or after the interval.
//
// The team meets at two barriers per step (before and after the serial part), three when
// the sources are shared out: on a small network a step is a few microseconds of work, and
// every barrier, like every cache line passed between cores, costs a good part of one.
//
// Failures: `failure.any` is written only inside the serial part, which ends with a barrier,
// and read only right after it, so that every thread leaves at the same point; the input
// generator, which runs beside update_circuits, reports into `failure.inputs`.
void Simulator::step(std::size_t t, std::int64_t n, const ExchangeInterval& interval, bool learning,
                     TeamFailure& failure) {
  const bool exchange_now = n + 1 == interval.end;
#pragma omp single nowait
  guarded(failure.inputs, [&] { receive_inputs(n, interval); });
  update_circuits(t, n);
#pragma omp barrier
  auto serial = [&] {
    guarded(failure.any, [&] {
      if (failure.inputs) std::rethrow_exception(failure.inputs);
      serial_part(n, interval, learning);
    });
  };
  if (exchange_now) {
#pragma omp master
    serial();
#pragma omp barrier
  } else {
#pragma omp single
    serial();
  }
  if (failure.any) return;  // every thread sees it after the same barrier
  propagate_and_learn(t, n, learning);
}

// The serial part of step n (see step()).
void Simulator::serial_part(std::int64_t n, const ExchangeInterval& interval, bool learning) {
  if (n > interval.begin) finish_step(n - 1);
  if (interval_inputs_.forced.neurons_forced) force_neuron_spikes(n);
  post_local_spikes(n, interval);
  if (config_.dt_rec > 0 && n % config_.dt_rec == 0 && position_.trace_phase)
    recorder_.record_traces(n, state_.neurons);
  if (learning) ++position_.learning_steps;
  if (n + 1 == interval.end) exchange(interval);
}

// Sub-steps 2-3 for this thread's circuits, each as one loop over all its neurons (the
// softmax of M3 circuit by circuit, its exps in one loop): u_k (M2), p_k (M3), and, when
// sampling, z_k (M4-M5) from one uniform per neuron, drawn for all of them at once.
void Simulator::update_circuits(std::size_t t, std::int64_t n) {
  const auto first = team_.circuit_begin(t);
  const auto last = team_.circuit_begin(t + 1);
  const std::uint64_t k_first = domain_.first_neuron(first);
  const std::uint64_t count = domain_.first_neuron(last) - k_first;
  double* potential = state_.neurons.potential.data() + k_first;
  double* rate_fraction = state_.neurons.rate_fraction.data() + k_first;
  const double* bias = state_.neurons.bias.data() + k_first;
  const double* decay = state_.neurons.weighted_decay.data() + k_first;
  const double* rise = state_.neurons.weighted_rise.data() + k_first;
  for (std::uint64_t i = 0; i < count; ++i) potential[i] = bias[i] + (decay[i] - rise[i]);  // M2
  kernels::softmax_circuits(potential, rate_fraction, domain_.first_neurons(first),
                            static_cast<std::size_t>(last - first));  // M3
  // One vectorised pass (a non-finite double has every exponent bit set); the neuron is
  // looked for only if there is one.
  constexpr std::uint64_t kExponent = 0x7FF0000000000000ULL;
  std::uint64_t non_finite = 0;
  for (std::uint64_t i = 0; i < count; ++i)
    non_finite |= static_cast<std::uint64_t>(
        (std::bit_cast<std::uint64_t>(rate_fraction[i]) & kExponent) == kExponent);
  if (non_finite != 0)
    for (std::uint64_t i = 0; i < count; ++i)
      if (!std::isfinite(rate_fraction[i]))
        exchange_.note_divergence(n, domain_.global_neuron(k_first + i));
  if (interval_inputs_.forced.neurons_forced) return;  // validation mode: spikes are forced
  double* uniforms = team_.slot(t).uniforms.data();
  domain_.for_each_neuron_run(first, last, [&](std::uint64_t g, std::uint64_t k, std::uint64_t m) {
    rng_.uniforms(Purpose::neuron_spike, g, m, static_cast<std::uint64_t>(n),
                  uniforms + (k - k_first));
  });
  const double r_max_hz = config_.r_max_hz;
  const double dt_s = config_.dt_s();
  std::uint8_t* spiked = state_.neurons.spiked.data() + k_first;
  // 1 - exp(-x) <= x: a uniform clearly above x is no spike, whatever the exp gives (the
  // margin covers the rounding of 1 - exp(-x)); the decision is the same either way. So the
  // bound is checked for every neuron in one vectorised loop, and the exp computed only for
  // the few that pass it.
  for (std::uint64_t i = 0; i < count; ++i)
    spiked[i] = uniforms[i] < r_max_hz * rate_fraction[i] * dt_s + 0x1p-50;
  for (std::uint64_t i = 0; i < count; ++i)
    if (spiked[i])
      spiked[i] =
          uniforms[i] < kernels::spike_probability(r_max_hz, rate_fraction[i], dt_s);  // M4-M5
}

// Sub-step 3 in validation mode (docs/model.md 7): the forced spikes of step n, no others.
void Simulator::force_neuron_spikes(std::int64_t n) {
  std::fill(state_.neurons.spiked.begin(), state_.neurons.spiked.end(), 0);
  const auto& forced = interval_inputs_.forced.neurons;
  std::size_t& cursor = interval_inputs_.forced_neuron_cursor;
  for (; cursor < forced.size() && forced[cursor].step <= n; ++cursor) {
    const auto& spike = forced[cursor];
    if (spike.step != n) continue;
    if (const std::uint64_t k = domain_.local_neuron(spike.id); k != LocalDomain::kNotLocal)
      state_.neurons.spiked[k] = 1;
  }
}

// The readout state x_k (docs/model.md 8, tau = tau_decay) and this step's local spikes: into
// the exchange, with the amplitude R*u each carries (M6) and its source's STP state advanced
// (M12-M14: the owner computes, the listeners take the amplitude), and into the record.
void Simulator::post_local_spikes(std::int64_t n, const ExchangeInterval& interval) {
  double* readout = state_.neurons.readout.data();
  const std::uint8_t* spiked = state_.neurons.spiked.data();
  const std::size_t n_neurons = state_.neurons.size();
  for (std::size_t k = 0; k < n_neurons; ++k) readout[k] = readout[k] * decay_factor_ + spiked[k];
  for (std::size_t k = 0; k < n_neurons; ++k) {
    if (!spiked[k]) continue;
    const std::uint32_t b = domain_.circuit_of_neuron(k);
    const auto position = static_cast<std::uint32_t>(k - domain_.first_neuron(b));
    const auto circuit = static_cast<std::uint64_t>(domain_.global_circuit(b));
    const std::uint32_t source = router_.route_neuron(circuit, position)->source;  // own: needed
    const double amplitude =
        state_.sources.fire(source, n, state_.source_parameters, config_.use_stp, config_.dt_s());
    exchange_.post_spike(n - interval.begin, circuit, position, amplitude);
    recorder_.record_spike(n, domain_.global_neuron(k), state_.neurons, k);
    ++counters_.network_spikes;
  }
}

// Sub-step 4: the input spikes x_j(n), kept for the exchange (where their STP state advances
// with the neurons' spikes, in source order) and recorded on rank 0.
void Simulator::receive_inputs(std::int64_t n, const ExchangeInterval& interval) {
  InputStep& inputs = interval_inputs_.steps[static_cast<std::size_t>(n - interval.begin)];
  if (interval_inputs_.forced.inputs_forced) {
    inputs.channels.clear();
    inputs.from_pattern.clear();
    inputs.pattern_id = inputs.pattern_id_2 = inputs.sequence_id = -1;
    inputs.targets_new = false;
    const auto& forced = interval_inputs_.forced.inputs;
    std::size_t& cursor = interval_inputs_.forced_input_cursor;
    for (; cursor < forced.size() && forced[cursor].step <= n; ++cursor) {
      if (forced[cursor].step != n) continue;
      inputs.channels.push_back(static_cast<std::uint32_t>(forced[cursor].id));
      inputs.from_pattern.push_back(0);
    }
  } else {
    input_.generate(n, inputs);
  }
  counters_.input_spikes += inputs.channels.size();
  if (comm_.rank() != 0) return;
  recorder_.record_inputs(n, inputs);
  if (inputs.targets_new) recorder_.record_targets(n, input_.task(), input_.targets());
}

// The one collective of the interval, then the interval's arrivals in step order and, within a
// step, in global source order (inputs, then neurons by id): the same order on every rank. An
// input's amplitude and STP (M12-M14) are computed here, by every rank (inputs are not
// exchanged); a neuron's came with its spike, from its owner.
void Simulator::exchange(const ExchangeInterval& interval) {
  const std::int64_t interval_steps = interval.end - interval.begin;
  const ReceivedExchange& received =
      exchange_.exchange(interval_steps, timers_.exchange_s, timers_.excluded_cpu_s);
  const double dt_s = config_.dt_s();
  auto queue = [&](std::optional<Arrival> arrival, std::int64_t s) {
    if (!arrival) return;  // no local synapse listens to the input
    arrival->amplitude =
        state_.sources.fire(arrival->source, s, state_.source_parameters, config_.use_stp, dt_s);
    router_.queue(s, *arrival);
  };
  std::size_t next = 0;
  for (std::int64_t o = 0; o < interval_steps; ++o) {
    const std::int64_t s = interval.begin + o;
    for (auto channel : interval_inputs_.steps[static_cast<std::size_t>(o)].channels)
      queue(router_.route(channel), s);
    for (; next < received.spikes.size() && received.spikes[next].step_offset() == o; ++next) {
      const ReceivedSpike& spike = received.spikes[next];
      std::optional<Arrival> arrival = router_.route_neuron(spike.circuit(), spike.position());
      if (!arrival) continue;                // the exchange keeps needed circuits only: never
      arrival->amplitude = spike.amplitude;  // its owner fired it (post_local_spikes)
      router_.queue(s, *arrival);
    }
  }
}

// M1 and M6 for sources [j_begin, j_end) in `traces`: the EPSP Y_j(n) from the traces
// before this step's arrivals, then the traces' decay, then the arrivals. M6 with no arrival is
// e f + 0, and an arrival adds its amplitude to that: (e f + 0) + s equals e f + s bit for bit
// (x + 0 = x for x != -0, and -0 + 0 + s = s). So the loop over every source (the halo's cost,
// docs/scaling.md) reads no amplitude array, and only the few sources that spiked are visited
// again. A source spikes at most once per step: at most one arrival each.
void Simulator::advance_sources(const TraceView& traces, std::size_t j_begin, std::size_t j_end,
                                const std::vector<Arrival>& arrivals) {
  for (std::size_t j = j_begin; j < j_end; ++j) {
    traces.epsp[j] = kernels::epsp(traces.decay[j], traces.rise[j]);             // M1
    traces.decay[j] = kernels::trace_step(traces.decay[j], decay_factor_, 0.0);  // M6
    traces.rise[j] = kernels::trace_step(traces.rise[j], rise_factor_, 0.0);     // M6
  }
  for (const Arrival& a : arrivals) {
    if (a.source < j_begin || a.source >= j_end) continue;
    traces.decay[a.source] += a.amplitude;  // M6's s R u
    traces.rise[a.source] += a.amplitude;
  }
}

// The traces thread t reads and advances: sources_' own, or, when every thread advances every
// source, thread t's copy (t > 0).
Simulator::TraceView Simulator::traces_of(std::size_t t) {
  SourceState& sources = state_.sources;
  if (t == 0 || team_.shares_sources())
    return {sources.trace_decay.data(), sources.trace_rise.data(), sources.epsp.data()};
  ThreadSlot& copy = team_.slot(t);
  return {copy.trace_decay.data(), copy.trace_rise.data(), copy.epsp.data()};
}

// The threads' copies of the traces take the sources' values: at the start of a run (after a
// restore) and whenever the sources are reset.
void Simulator::copy_traces_to_threads() {
  if (team_.shares_sources()) return;
  for (std::size_t t = 1; t < static_cast<std::size_t>(team_.size()); ++t) {
    ThreadSlot& copy = team_.slot(t);
    copy.trace_decay = state_.sources.trace_decay;
    copy.trace_rise = state_.sources.trace_rise;
    copy.epsp = state_.sources.epsp;
  }
}

// Sub-steps 1, 5 and 6: M1 and M6 for the sources (shared out: the loop ends with a barrier,
// since every thread needs every source's traces; or every thread on its own copy: the same
// arithmetic on the same values, so the copies stay equal to the sources', and no cache line of
// them passes between cores); then this thread's circuits: weighted sums (M6) and the STDP of
// its spiking neurons (M7-M11).
void Simulator::propagate_and_learn(std::size_t t, std::int64_t n, bool learning) {
  const TraceView traces = traces_of(t);
  const std::size_t n_sources = state_.sources.trace_decay.size();
  if (team_.shares_sources()) {  // thread t's contiguous block, one loop the compiler vectorises
    const auto n_threads = static_cast<std::size_t>(team_.size());
    advance_sources(traces, n_sources * t / n_threads, n_sources * (t + 1) / n_threads,
                    router_.arrivals_at(n));
#pragma omp barrier
  } else {
    advance_sources(traces, 0, n_sources, router_.arrivals_at(n));
  }
  const auto first = team_.circuit_begin(t);
  const auto last = team_.circuit_begin(t + 1);
  deliver(t, first, last, router_.arrivals_at(n));
  if (!learning) return;
  const auto k_first = domain_.first_neuron(first);
  const auto k_last = domain_.first_neuron(last);
  // Untrained circuits never learn (docs/model.md 11.1). The sums of the learning neurons are
  // recomputed two by two.
  std::uint64_t waiting = kNoNeuron;
  for (auto k = k_first; k < k_last; ++k) {
    if (!state_.neurons.spiked[k] || !(domain_.all_trained() || domain_.neuron_trained(k)))
      continue;
    learn(k, traces.epsp);
    if (waiting == kNoNeuron) {
      waiting = k;
    } else {
      recompute_sums(waiting, k, n, traces);
      waiting = kNoNeuron;
    }
  }
  if (waiting != kNoNeuron) recompute_sums(waiting, kNoNeuron, n, traces);
}

// After every thread is done with step n: its arrivals leave the ring, and the traced
// neurons' synapses are recorded when traces are sampled.
void Simulator::finish_step(std::int64_t n) {
  std::vector<Arrival>& arrivals = router_.arrivals_at(n);
  for (const Arrival& a : arrivals) {
    counters_.deliveries += a.source_circuit == SpikeRouter::kInput ? state_.neurons.size()
                            : router_.per_neuron_rows() ? router_.neuron_targets(a.source).size()
                                                        : router_.target_neurons(a.source_circuit);
  }
  arrivals.clear();
  if (config_.dt_rec > 0 && n % config_.dt_rec == 0 && position_.trace_phase &&
      recorder_.records_synapses())
    recorder_.record_synapses(state_.synapses, domain_, [&](std::uint64_t k) {
      return router_.neuron_row_sources(k, domain_.circuit_of_neuron(k));
    });
}

// M6 for the weighted sums of the neurons of local circuits [circuit_first, circuit_last):
// decay, then each arriving spike adds w_kj * R_j u_j, in arrival (= global source) order.
void Simulator::deliver(std::size_t t, std::int64_t circuit_first, std::int64_t circuit_last,
                        const std::vector<Arrival>& arrivals) {
  const auto k_first = domain_.first_neuron(circuit_first);
  const auto k_last = domain_.first_neuron(circuit_last);
  std::vector<double>& decay = state_.neurons.weighted_decay;
  std::vector<double>& rise = state_.neurons.weighted_rise;
  const std::vector<double>& weight = state_.synapses.weight;
  const std::vector<std::uint64_t>& row_begin = state_.synapses.row_begin;
  // The arrivals that lead the list and are inputs (all of a step's inputs: they come first in
  // global source order) reach every neuron: neuron by neuron, with its sums in registers and
  // its row read in ascending order; per neuron the same operations in the same order as
  // arrival by arrival.
  std::size_t n_leading_inputs = 0;
  while (n_leading_inputs < arrivals.size() &&
         arrivals[n_leading_inputs].source_circuit == SpikeRouter::kInput)
    ++n_leading_inputs;
  const Arrival* leading = arrivals.data();
  // Large grids (synapses beyond the caches) go circuit by circuit (deliver_by_circuit); on
  // small ones arrival by arrival is faster (measured: bench/README.md).
  if (!router_.per_neuron_rows() && state_.synapses.size() * sizeof(double) > (8u << 20) &&
      std::none_of(arrivals.begin() + static_cast<std::ptrdiff_t>(n_leading_inputs), arrivals.end(),
                   [](const Arrival& a) { return a.source_circuit == SpikeRouter::kInput; })) {
    deliver_by_circuit(team_.slot(t), circuit_first, circuit_last, arrivals, n_leading_inputs);
    return;
  }
  for (auto k = k_first; k < k_last; ++k)
    neuron_sums_step(decay[k], rise[k], decay_factor_, rise_factor_, weight.data() + row_begin[k],
                     leading, n_leading_inputs, nullptr, 0);
  // The targets of a neuron's spike in [circuit_first, circuit_last) (shared rows).
  auto local_targets = [&](const Arrival& a) {
    return router_.targets_in(a.source_circuit, circuit_first, circuit_last);
  };
  for (std::size_t i = n_leading_inputs; i < arrivals.size(); ++i) {
    const Arrival& a = arrivals[i];
    if (a.source_circuit == SpikeRouter::kInput) {
      for (auto k = k_first; k < k_last; ++k) {
        const double contribution = weight[row_begin[k] + a.offset] * a.amplitude;
        decay[k] += contribution;
        rise[k] += contribution;
      }
      continue;
    }
    if (router_.per_neuron_rows()) {  // p_conn < 1: the source's own synapses
      const auto targets = router_.neuron_targets(a.source);
      auto it = std::lower_bound(targets.begin(), targets.end(), k_first,
                                 [](const SpikeRouter::NeuronTarget& target, std::uint64_t k) {
                                   return target.neuron < k;
                                 });
      for (; it != targets.end() && it->neuron < k_last; ++it) {
        const double contribution = weight[row_begin[it->neuron] + it->position] * a.amplitude;
        decay[it->neuron] += contribution;
        rise[it->neuron] += contribution;
      }
      continue;
    }
    for (const SpikeRouter::Target& target : local_targets(a)) {
      const std::uint64_t first = domain_.first_neuron(target.circuit);
      const std::uint64_t end = domain_.first_neuron(target.circuit + 1);
      for (auto k = first; k < end; ++k) {
        const double contribution =
            weight[row_begin[k] + target.row_offset + a.offset] * a.amplitude;
        decay[k] += contribution;
        rise[k] += contribution;
      }
    }
  }
}

// deliver() with shared rows when the inputs lead the arrivals (as they always do: global
// source order), neuron by neuron: each neuron's sums stay in registers while its decay, the
// inputs and then the recurrent arrivals that reach its circuit are added, in arrival order
// (the same operations in the same order as arrival by arrival). The recurrent arrivals are
// first sorted by target circuit (stably: counts, then a scatter).
void Simulator::deliver_by_circuit(ThreadSlot& slot, std::int64_t circuit_first,
                                   std::int64_t circuit_last, const std::vector<Arrival>& arrivals,
                                   std::size_t n_leading_inputs) {
  std::vector<std::uint32_t>& begin = slot.event_begin;
  std::vector<PendingEvent>& events = slot.events;
  const auto n_circuits = static_cast<std::size_t>(circuit_last - circuit_first);
  begin.assign(n_circuits + 2, 0);
  // The targets of a neuron's spike in [circuit_first, circuit_last) (shared rows).
  auto local_targets = [&](const Arrival& a) {
    return router_.targets_in(a.source_circuit, circuit_first, circuit_last);
  };
  // begin[b + 2] counts circuit b's events; after the prefix sum begin[b + 1] is where its
  // events go, and after the scatter begin[b] .. begin[b + 1] holds them.
  for (std::size_t i = n_leading_inputs; i < arrivals.size(); ++i)
    for (const SpikeRouter::Target& target : local_targets(arrivals[i]))
      ++begin[static_cast<std::size_t>(target.circuit - circuit_first) + 2];
  for (std::size_t b = 2; b < begin.size(); ++b) begin[b] += begin[b - 1];
  events.resize(begin.back());
  for (std::size_t i = n_leading_inputs; i < arrivals.size(); ++i) {
    const Arrival& a = arrivals[i];
    for (const SpikeRouter::Target& target : local_targets(a))
      events[begin[static_cast<std::size_t>(target.circuit - circuit_first) + 1]++] = {
          target.row_offset + a.offset, a.amplitude};
  }
  double* decay = state_.neurons.weighted_decay.data();
  double* rise = state_.neurons.weighted_rise.data();
  const double* weight = state_.synapses.weight.data();
  const std::uint64_t* row_begin = state_.synapses.row_begin.data();
  const Arrival* inputs = arrivals.data();
  // On a large grid nearly every synaptic event misses the caches (a weight in another row
  // each): the events of a circuit a few ahead are prefetched. Performance only.
  constexpr std::size_t kPrefetchAhead = 8;
  auto prefetch_circuit = [&](std::size_t b) {
    const std::int64_t c = circuit_first + static_cast<std::int64_t>(b);
    const std::uint64_t first = domain_.first_neuron(c);
    const auto size = static_cast<std::uint64_t>(domain_.circuit_size(c));
    for (std::uint32_t e = begin[b]; e < begin[b + 1]; ++e)
      for (auto k = first; k < first + size; ++k)
        __builtin_prefetch(weight + row_begin[k] + events[e].position);
  };
  for (std::size_t b = 0; b < n_circuits; ++b) {
    if (b + kPrefetchAhead < n_circuits) prefetch_circuit(b + kPrefetchAhead);
    const std::int64_t c = circuit_first + static_cast<std::int64_t>(b);
    const std::uint64_t first = domain_.first_neuron(c);
    const auto size = static_cast<std::uint64_t>(domain_.circuit_size(c));
    const PendingEvent* circuit_events = events.data() + begin[b];
    const std::uint32_t n_events = begin[b + 1] - begin[b];
    for (auto k = first; k < first + size; ++k)
      neuron_sums_step(decay[k], rise[k], decay_factor_, rise_factor_, weight + row_begin[k],
                       inputs, n_leading_inputs, circuit_events, n_events);
  }
}

// Sub-step 6 for local neuron k, which spiked: the plasticity rule on its row (M7-M11 for
// variance tracking, one vectorised loop over the row with Y gathered from the sources: the
// same bits as a scalar loop, see kernels::exp); its weighted sums follow in recompute_sums.
void Simulator::learn(std::uint64_t k, const double* Y) {
  const auto sources = router_.neuron_row_local_sources(k, domain_.circuit_of_neuron(k));
  const std::uint64_t length = sources.size();
  // The input synapses lead the row; they are left alone when train_inputs is off.
  const std::uint64_t first =
      config_.train_inputs ? 0 : static_cast<std::uint64_t>(config_.n_inputs);
  const std::uint64_t row = state_.synapses.row_begin[k] + first;
  rule_->update_row({.weight = state_.synapses.weight.data() + row,
                     .variance_tracking_mean = state_.synapses.variance_tracking_mean.data() + row,
                     .variance_tracking_second_moment =
                         state_.synapses.variance_tracking_second_moment.data() + row,
                     .epsp = Y,
                     .source = sources.data() + first,
                     .length = length - first,
                     .eta = config_.learning_rate,
                     .learning_steps = position_.learning_steps});
#pragma omp atomic
  counters_.stdp_updates += length - first;
}

// The rest of sub-step 6 for local neurons k0 and k1 (k1 = kNoNeuron: k0 alone), after their
// STDP: their weighted sums from scratch with the new weights and the traces after M6, each
// in its row order (two rows at once: the same bits, see kernels::weighted_sums_two).
void Simulator::recompute_sums(std::uint64_t k0, std::uint64_t k1, std::int64_t n,
                               const TraceView& traces) {
  const double* e = traces.decay;
  const double* e_hat = traces.rise;
  const auto row0 = router_.neuron_row_local_sources(k0, domain_.circuit_of_neuron(k0));
  const double* w0 = state_.synapses.weight.data() + state_.synapses.row_begin[k0];
  kernels::WeightedSums sums[2];
  const std::uint64_t ks[2] = {k0, k1};
  if (k1 == kNoNeuron) {
    sums[0] = kernels::weighted_sums(w0, e, e_hat, row0.data(), row0.size());  // M2
  } else {
    const auto row1 = router_.neuron_row_local_sources(k1, domain_.circuit_of_neuron(k1));
    const double* w1 = state_.synapses.weight.data() + state_.synapses.row_begin[k1];
    kernels::weighted_sums_two(w0, row0.data(), row0.size(), w1, row1.data(), row1.size(), e, e_hat,
                               sums[0], sums[1]);  // M2
  }
  for (int i = 0; i < (k1 == kNoNeuron ? 1 : 2); ++i) {
    state_.neurons.weighted_decay[ks[i]] = sums[i].decay;
    state_.neurons.weighted_rise[ks[i]] = sums[i].rise;
    if (!std::isfinite(sums[i].decay) || !std::isfinite(sums[i].rise))
      exchange_.note_divergence(n, domain_.global_neuron(ks[i]));
  }
}

}  // namespace seqlearn
