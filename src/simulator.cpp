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

}  // namespace

Simulator::Simulator(const Config& config, Communicator& comm)
    : config_(config),
      comm_(comm),
      rng_(config.seed),
      network_(config, comm.size()),
      input_(config_, rng_),
      decay_factor_(1.0 - config.dt_ms / config.tau_decay_ms),
      rise_factor_(1.0 - config.dt_ms / config.tau_rise_ms),
      circuit_begin_(network_.circuits_of_rank(comm.rank()).first),
      circuit_end_(network_.circuits_of_rank(comm.rank()).second),
      neuron_begin_(network_.first_neuron(circuit_begin_)),
      neuron_end_(network_.first_neuron(circuit_end_)),
      router_(network_, circuit_begin_, circuit_end_, config.delay_steps),
      neurons_(neuron_end_ - neuron_begin_),
      interval_inputs_(static_cast<std::size_t>(config.delay_steps)) {
  if (static_cast<std::uint64_t>(network_.n_circuits()) > ExchangeWord::kMaxCircuits)
    throw ConfigError("network.grid: more than 2^36 circuits are not supported");
  if (static_cast<std::uint64_t>(config.k_max) > ExchangeWord::kMaxCircuitSize)
    throw ConfigError("network.k_max: at most " + std::to_string(ExchangeWord::kMaxCircuitSize) +
                      " neurons per circuit");
  if (config.delay_steps >= ExchangeWord::kMaxIntervalSteps)
    throw ConfigError("network.delay: at most " +
                      std::to_string(ExchangeWord::kMaxIntervalSteps - 1) + " steps");
  if (!config_.forced_spikes_file.empty()) {
    config_.forced = load_forced_spikes(config_.forced_spikes_file, config_.n_inputs,
                                        network_.n_neurons(), config_.total_steps());
  }
  for (std::int64_t b = 0; b < circuit_end_ - circuit_begin_; ++b)
    local_circuit_of_neuron_.insert(
        local_circuit_of_neuron_.end(),
        static_cast<std::size_t>(network_.circuit_size(circuit_begin_ + b)),
        static_cast<std::uint32_t>(b));
  for (std::int64_t b = 0; b < circuit_end_ - circuit_begin_; ++b) {  // docs/model.md 11.1
    const bool trained = network_.circuit_trained(circuit_begin_ + b);
    circuit_trained_.push_back(trained);
    neuron_trained_.insert(neuron_trained_.end(),
                           static_cast<std::size_t>(network_.circuit_size(circuit_begin_ + b)),
                           trained);
    all_trained_ = all_trained_ && trained;
  }
  choose_traced_neurons();
  init_sources();
  init_synapses();
  core_share_ = seqlearn::core_share(comm_);
  thread_choice_ = choose_threads(config.threads, synapses_.size(), core_share_);
  n_threads_ = thread_choice_.threads;
  if (n_threads_ > omp_get_thread_limit())
    throw ConfigError("invalid value '" + std::to_string(n_threads_) +
                      "' for run.threads: OMP_THREAD_LIMIT allows at most " +
                      std::to_string(omp_get_thread_limit()) + " thread(s)");
  omp_set_dynamic(0);  // every parallel region gets exactly n_threads_ (partition_threads)
  partition_threads();
  share_sources_ = n_threads_ > 1 && sources_.trace_decay.size() >= kSharedSourcesMin;
  if (!share_sources_) thread_traces_.resize(static_cast<std::size_t>(n_threads_));
  thread_uniforms_.resize(static_cast<std::size_t>(n_threads_));
  thread_event_begin_.resize(static_cast<std::size_t>(n_threads_));
  thread_events_.resize(static_cast<std::size_t>(n_threads_));
  for (std::size_t t = 0; t < thread_uniforms_.size(); ++t)
    thread_uniforms_[t].resize(
        network_.first_neuron(circuit_begin_ + thread_circuit_begin_[t + 1]) -
        network_.first_neuron(circuit_begin_ + thread_circuit_begin_[t]));
}

// --- Set-up -----------------------------------------------------------------------------

// STP parameters of every source (docs/model.md 2), then its initial state.
void Simulator::init_sources() {
  const std::uint32_t n = router_.n_sources();
  source_parameters_.U.resize(n);
  source_parameters_.D_s.resize(n);
  source_parameters_.F_s.resize(n);
  router_.for_each_source_run([&](std::uint64_t id, std::uint32_t j, std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      const StpParameters p = network_.stp_parameters(id + i);
      source_parameters_.U[j + i] = p.U;
      source_parameters_.D_s[j + i] = p.D_s;
      source_parameters_.F_s[j + i] = p.F_s;
    }
  });
  sources_.reset(source_parameters_, 0);
}

// One row per local neuron in its circuit's layout (its own with p_conn < 1); weights zero or
// log U(0,1) (docs/model.md 4.6; always log U(0,1) in an untrained circuit, 11.1), S = 0,
// Q = 1. The uniform is keyed by (neuron, position in its row).
void Simulator::init_synapses() {
  std::vector<std::uint64_t> row_lengths;
  row_lengths.reserve(neurons_.size());
  for (std::size_t k = 0; k < neurons_.size(); ++k)
    row_lengths.push_back(router_.neuron_row_local_sources(k, local_circuit_of_neuron_[k]).size());
  synapses_ = SynapseRows(row_lengths);
  for (std::size_t k = 0; k < neurons_.size(); ++k) {
    if (config_.initial_weights != InitialWeights::log_uniform && neuron_trained_[k]) continue;
    for (std::uint64_t i = 0; i < synapses_.row_length(k); ++i)
      synapses_.weight[synapses_.row_begin[k] + i] =
          std::log(rng_.uniform(Purpose::initial_weight, neuron_begin_ + k, i));
  }
}

// Threads own contiguous circuits of about equal synapse counts.
void Simulator::partition_threads() {
  const auto n_local_circuits = static_cast<std::size_t>(circuit_end_ - circuit_begin_);
  std::vector<double> circuit_work(n_local_circuits);
  double total_work = 0;
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    const auto c = static_cast<std::int64_t>(b);
    circuit_work[b] =
        static_cast<double>(router_.circuit_synapses(c) +
                            static_cast<std::uint64_t>(network_.circuit_size(circuit_begin_ + c)));
    total_work += circuit_work[b];
  }
  thread_circuit_begin_.assign(static_cast<std::size_t>(n_threads_) + 1,
                               circuit_end_ - circuit_begin_);
  thread_circuit_begin_[0] = 0;
  double before = 0;
  int thread = 0;
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    const int owner = std::min(n_threads_ - 1, static_cast<int>((before + 0.5 * circuit_work[b]) /
                                                                total_work * n_threads_));
    while (thread < owner)
      thread_circuit_begin_[static_cast<std::size_t>(++thread)] = static_cast<std::int64_t>(b);
    before += circuit_work[b];
  }
}

// record.neurons: all | random:K (Floyd's sampling, keyed by seed) | range:A-B | list.
void Simulator::choose_traced_neurons() {
  const std::uint64_t n = network_.n_neurons();
  std::vector<std::uint64_t> chosen;
  const std::string key = "record.neurons";
  switch (config_.record_mode) {
    case RecordMode::all:
      for (std::uint64_t g = neuron_begin_; g < neuron_end_; ++g) chosen.push_back(g);
      break;
    case RecordMode::random: {
      const std::uint64_t k = config_.record_random_capped
                                  ? std::min<std::uint64_t>(config_.record_list[0], n)
                                  : config_.record_list[0];
      if (k > n)
        throw ConfigError("invalid value 'random:" + std::to_string(k) + "' for " + key +
                          ": the network has only " + std::to_string(n) + " neurons");
      std::set<std::uint64_t> sample;
      for (std::uint64_t j = n - k; j < n; ++j) {
        const auto t = static_cast<std::uint64_t>(
            rng_.uniform_int(0, static_cast<std::int64_t>(j), Purpose::record_sample, j, 0));
        sample.insert(sample.contains(t) ? j : t);
      }
      chosen.assign(sample.begin(), sample.end());
      break;
    }
    case RecordMode::range:
      if (config_.record_list[1] >= n)
        throw ConfigError("invalid value 'range:" + std::to_string(config_.record_list[0]) + "-" +
                          std::to_string(config_.record_list[1]) + "' for " + key +
                          ": neuron ids go from 0 to " + std::to_string(n - 1));
      for (std::uint64_t g = config_.record_list[0]; g <= config_.record_list[1]; ++g)
        chosen.push_back(g);
      break;
    case RecordMode::list:
      if (config_.record_list.back() >= n)
        throw ConfigError("invalid neuron id " + std::to_string(config_.record_list.back()) +
                          " for " + key + ": neuron ids go from 0 to " + std::to_string(n - 1));
      chosen = config_.record_list;
      break;
  }
  for (auto g : chosen) {
    if (g >= neuron_begin_ && g < neuron_end_) {
      record_.trace_neurons.push_back(g);
      traced_local_.push_back(g - neuron_begin_);
    }
  }
}

std::vector<std::uint64_t> Simulator::synapse_sources() const {
  std::vector<std::uint64_t> sources;
  sources.reserve(synapses_.size());
  for (std::int64_t b = 0; b < circuit_end_ - circuit_begin_; ++b) {
    const std::uint64_t first = network_.first_neuron(circuit_begin_ + b) - neuron_begin_;
    if (!router_.per_neuron_rows()) {
      const auto row = router_.row_sources(b);
      for (int k = 0; k < network_.circuit_size(circuit_begin_ + b); ++k)
        sources.insert(sources.end(), row.begin(), row.end());
      continue;
    }
    for (int i = 0; i < network_.circuit_size(circuit_begin_ + b); ++i) {
      const auto row = router_.neuron_row_sources(first + static_cast<std::uint64_t>(i), b);
      sources.insert(sources.end(), row.begin(), row.end());
    }
  }
  return sources;
}

std::vector<std::uint64_t> Simulator::synapse_targets() const {
  std::vector<std::uint64_t> targets;
  targets.reserve(synapses_.size());
  for (std::size_t k = 0; k < neurons_.size(); ++k)
    targets.insert(targets.end(), synapses_.row_length(k), neuron_begin_ + k);
  return targets;
}

std::int64_t Simulator::local_circuit_of(std::uint64_t local_neuron) const {
  return local_circuit_of_neuron_[local_neuron];
}

// --- The run ------------------------------------------------------------------------------

Simulator::Outcome Simulator::run(const std::function<void(std::int64_t, std::int64_t)>& progress) {
  const std::int64_t total = config_.total_steps();
  record_.first_step = first_step_;
  record_.pattern_id.reserve(static_cast<std::size_t>(comm_.rank() == 0 ? 2 * total : 0));
  const std::int64_t every = config_.checkpoint_every_steps;
  std::int64_t last_checkpoint = -1;
  // compute_cpu_s: the loop's CPU time less the exchanges' (on several ranks) and the
  // checkpoints', however run() returns.
  struct LoopCpu {
    Simulator& simulator;
    const double start = process_cpu_s();
    const double excluded_before = simulator.excluded_cpu_s_;
    ~LoopCpu() {
      simulator.timers_.compute_cpu_s +=
          process_cpu_s() - start - (simulator.excluded_cpu_s_ - excluded_before);
    }
  } loop_cpu{*this};
  copy_traces_to_threads();
  for (phase_index_ = 0; phase_index_ < config_.protocol.size(); ++phase_index_) {
    const Phase& phase = config_.protocol[phase_index_];
    const bool is_test = phase.kind == PhaseKind::test;
    const InputSettings settings = config_.input_settings(phase);
    if (phase.continues) {
      input_.resume(settings, restored_generator_);
    } else {
      input_.start_phase(settings);
      // docs/model.md 6: a test phase starts from initial EPSP, STP and readout state;
      // weights, S and Q stay. Spikes in flight are dropped with the traces.
      if (is_test && config_.reset_transients) {
        sources_.reset(source_parameters_, step_);
        copy_traces_to_threads();
        neurons_.reset_transients();
        router_.clear_arrivals();
      }
    }
    phase_end_ = step_ + phase.steps;
    trace_phase_ = config_.traces_phase(phase);
    // Exchange intervals of `delay` steps, aligned to the phase start (docs/model.md 4,
    // docs/design.md 3).
    while (step_ < phase_end_) {
      const Interval interval{step_, std::min(step_ + config_.delay_steps, phase_end_)};
      run_interval(interval, phase.learning);
      step_ = interval.end;
      if (progress) progress(step_ - first_step_, total);
      if (stop_agreed_) {
        write_checkpoint(config_.checkpoint_file);
        return Outcome::stopped;
      }
      if (every > 0 && step_ / every > interval.begin / every) {
        write_checkpoint(config_.checkpoint_file);
        last_checkpoint = step_;
      }
    }
  }
  if (every > 0 && last_checkpoint != step_) write_checkpoint(config_.checkpoint_file);
  return Outcome::completed;
}

// The steps of one exchange interval in one parallel region: every thread of the team runs
// step() for every step, and the work is shared inside it (one team per interval, not one
// per sub-step: waking threads costs more than a small step's work). An exception inside the
// region (a divergence reported by the exchange, a failed allocation) is carried out of it
// and rethrown once every thread has left.
void Simulator::run_interval(const Interval& interval, bool learning) {
  const auto start = std::chrono::steady_clock::now();
  const double exchange_before = timers_.exchange_s;
  TeamFailure failure;
  if (n_threads_ == 1) {
    // No team at all: the work-sharing constructs in step() are then orphaned and cost
    // nothing (a team of one, as `parallel if (false)` makes, still enters the kernel at
    // every barrier to wake nobody).
    for (std::int64_t n = interval.begin; n < interval.end && !failure.any; ++n)
      step(n, interval, learning, failure);
  } else
#pragma omp parallel num_threads(n_threads_)
  {
#pragma omp single
    if (omp_get_num_threads() != n_threads_)
      failure.any = std::make_exception_ptr(std::runtime_error(
          "OpenMP gave " + std::to_string(omp_get_num_threads()) + " threads instead of " +
          std::to_string(n_threads_) + " (OMP_THREAD_LIMIT?); set --threads accordingly"));
    for (std::int64_t n = interval.begin; n < interval.end && !failure.any; ++n)
      step(n, interval, learning, failure);
  }
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
void Simulator::step(std::int64_t n, const Interval& interval, bool learning,
                     TeamFailure& failure) {
  const bool exchange_now = n + 1 == interval.end;
#pragma omp single nowait
  guarded(failure.inputs, [&] { receive_inputs(n, interval); });
  update_circuits(n);
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
  propagate_and_learn(n, learning);
}

// The serial part of step n (see step()).
void Simulator::serial_part(std::int64_t n, const Interval& interval, bool learning) {
  if (n > interval.begin) finish_step(n - 1);
  if (config_.forced.neurons_forced) force_neuron_spikes(n);
  post_local_spikes(n, interval);
  if (config_.dt_rec > 0 && n % config_.dt_rec == 0 && trace_phase_) record_traces(n);
  if (learning) ++learning_steps_;
  if (n + 1 == interval.end) exchange(interval);
  take_arrivals(n);
}

// Sub-steps 2-3 for this thread's circuits, each as one loop over all its neurons (the
// softmax of M3 circuit by circuit, its exps in one loop): u_k (M2), p_k (M3), and, when
// sampling, z_k (M4-M5) from one uniform per neuron, drawn for all of them at once.
void Simulator::update_circuits(std::int64_t n) {
  const auto t = static_cast<std::size_t>(omp_get_thread_num());
  const auto first = thread_circuit_begin_[t];
  const auto last = thread_circuit_begin_[t + 1];
  const std::uint64_t k_first = network_.first_neuron(circuit_begin_ + first) - neuron_begin_;
  const std::uint64_t count =
      network_.first_neuron(circuit_begin_ + last) - neuron_begin_ - k_first;
  double* potential = neurons_.potential.data() + k_first;
  double* rate_fraction = neurons_.rate_fraction.data() + k_first;
  const double* bias = neurons_.bias.data() + k_first;
  const double* decay = neurons_.weighted_decay.data() + k_first;
  const double* rise = neurons_.weighted_rise.data() + k_first;
  for (std::uint64_t i = 0; i < count; ++i) potential[i] = bias[i] + (decay[i] - rise[i]);  // M2
  kernels::softmax_circuits(potential, rate_fraction,
                            network_.first_neurons(circuit_begin_ + first),
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
      if (!std::isfinite(rate_fraction[i])) note_divergence(n, neuron_begin_ + k_first + i);
  if (config_.forced.neurons_forced) return;  // validation mode: spikes are forced
  double* uniforms = thread_uniforms_[t].data();
  rng_.uniforms(Purpose::neuron_spike, neuron_begin_ + k_first, count,
                static_cast<std::uint64_t>(n), uniforms);
  const double r_max_hz = config_.r_max_hz;
  const double dt_s = config_.dt_s();
  std::uint8_t* spiked = neurons_.spiked.data() + k_first;
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
  std::fill(neurons_.spiked.begin(), neurons_.spiked.end(), 0);
  const auto& forced = config_.forced.neurons;
  for (; forced_neuron_cursor_ < forced.size() && forced[forced_neuron_cursor_].step <= n;
       ++forced_neuron_cursor_) {
    const auto& spike = forced[forced_neuron_cursor_];
    if (spike.step == n && spike.id >= neuron_begin_ && spike.id < neuron_end_)
      neurons_.spiked[spike.id - neuron_begin_] = 1;
  }
}

// The readout state x_k (docs/model.md 8, tau = tau_decay) and this step's local spikes: into
// the exchange (as ExchangeWords) and the record.
void Simulator::post_local_spikes(std::int64_t n, const Interval& interval) {
  double* readout = neurons_.readout.data();
  const std::uint8_t* spiked = neurons_.spiked.data();
  const std::size_t n_neurons = neurons_.size();
  for (std::size_t k = 0; k < n_neurons; ++k) readout[k] = readout[k] * decay_factor_ + spiked[k];
  for (std::size_t k = 0; k < n_neurons; ++k) {
    if (!spiked[k]) continue;
    const auto b = static_cast<std::size_t>(local_circuit_of_neuron_[k]);
    const std::uint64_t circuit = static_cast<std::uint64_t>(circuit_begin_) + b;
    const auto position = static_cast<std::uint32_t>(
        neuron_begin_ + k - network_.first_neuron(static_cast<std::int64_t>(circuit)));
    outgoing_.push_back(ExchangeWord::spike(n - interval.begin, circuit, position).bits());
    record_.spike_step.push_back(n);
    record_.spike_neuron.push_back(neuron_begin_ + k);
    ++counters_.network_spikes;
  }
}

// Sub-step 4: the input spikes x_j(n), kept for the exchange (where their STP state advances
// with the neurons' spikes, in source order) and recorded on rank 0.
void Simulator::receive_inputs(std::int64_t n, const Interval& interval) {
  InputStep& inputs = interval_inputs_[static_cast<std::size_t>(n - interval.begin)];
  if (config_.forced.inputs_forced) {
    inputs.channels.clear();
    inputs.from_pattern.clear();
    inputs.pattern_id = inputs.pattern_id_2 = inputs.sequence_id = -1;
    inputs.rates_new = false;
    const auto& forced = config_.forced.inputs;
    for (; forced_input_cursor_ < forced.size() && forced[forced_input_cursor_].step <= n;
         ++forced_input_cursor_) {
      if (forced[forced_input_cursor_].step != n) continue;
      inputs.channels.push_back(static_cast<std::uint32_t>(forced[forced_input_cursor_].id));
      inputs.from_pattern.push_back(0);
    }
  } else {
    input_.generate(n, inputs);
  }
  counters_.input_spikes += inputs.channels.size();
  if (comm_.rank() != 0) return;
  record_.pattern_id.push_back(inputs.pattern_id);
  record_.pattern_id.push_back(inputs.pattern_id_2);
  record_.sequence_id.push_back(inputs.sequence_id);
  if (inputs.rates_new) {
    const std::vector<double>& rates = input_.multi_task().rates();
    record_.rate_step.push_back(n);
    record_.rate_value.insert(record_.rate_value.end(), rates.begin(), rates.end());
  }
  record_.input_step.insert(record_.input_step.end(), inputs.channels.size(), n);
  record_.input_channel.insert(record_.input_channel.end(), inputs.channels.begin(),
                               inputs.channels.end());
  record_.input_from_pattern.insert(record_.input_from_pattern.end(), inputs.from_pattern.begin(),
                                    inputs.from_pattern.end());
}

void Simulator::record_traces(std::int64_t n) {
  record_.trace_steps.push_back(n);
  for (auto k : traced_local_) {
    record_.trace_u.push_back(neurons_.potential[k]);
    record_.trace_p.push_back(neurons_.rate_fraction[k]);
    record_.trace_readout.push_back(neurons_.readout[k]);
  }
}

// The one collective of the interval, then amplitudes and STP (M12-M14) for the interval's
// spikes of every needed source, in step order and, within a step, in global source order
// (inputs, then neurons by id): the same order on every rank.
void Simulator::exchange(const Interval& interval) {
  if (stop_requested_.load())
    outgoing_.push_back(ExchangeWord::control(ExchangeWord::Kind::stop, 0).bits());
  {
    const std::lock_guard<std::mutex> lock(divergence_mutex_);
    if (divergence_) {
      outgoing_.push_back(ExchangeWord::control(ExchangeWord::Kind::diverged_step,
                                                static_cast<std::uint64_t>(divergence_->step))
                              .bits());
      outgoing_.push_back(
          ExchangeWord::control(ExchangeWord::Kind::diverged_neuron, divergence_->neuron).bits());
    }
  }
  {
    const ScopedTimer exchange_time(timers_.exchange_s);
    std::optional<ScopedCpuTimer> exchange_cpu;
    if (comm_.size() > 1) exchange_cpu.emplace(excluded_cpu_s_);
    comm_.all_gather(outgoing_, incoming_);
    outgoing_.clear();
  }
  const std::int64_t interval_steps = interval.end - interval.begin;
  ReceivedExchange& received = received_;
  receive_exchange(incoming_, interval_steps, received);
  stop_agreed_ = stop_agreed_ || received.stop;
  if (received.divergence)
    throw DivergenceError("the dynamics diverged at step " +
                          std::to_string(received.divergence->step) + ": neuron " +
                          std::to_string(received.divergence->neuron) +
                          " has a non-finite potential, rate or weight (nothing was written); "
                          "lower plasticity.learning_rate or the input rates");

  const double dt_s = config_.dt_s();
  auto queue = [&](std::optional<Arrival> arrival, std::int64_t s) {
    if (!arrival) return;  // no local synapse listens to it
    arrival->amplitude =
        sources_.fire(arrival->source, s, source_parameters_, config_.use_stp, dt_s);
    router_.queue(s, *arrival);
  };
  std::size_t next = 0;
  for (std::int64_t o = 0; o < interval_steps; ++o) {
    const std::int64_t s = interval.begin + o;
    for (auto channel : interval_inputs_[static_cast<std::size_t>(o)].channels)
      queue(router_.route(channel), s);
    for (; next < received.spikes.size() && received.spikes[next].step_offset() == o; ++next)
      queue(router_.route_neuron(received.spikes[next].circuit(), received.spikes[next].position()),
            s);
  }
}

// This step's arrivals as a per-source amplitude for M6 (a source spikes at most once per
// step, so it has at most one arrival per step).
void Simulator::take_arrivals(std::int64_t n) {
  for (const Arrival& a : router_.arrivals_at(n)) sources_.arriving[a.source] = a.amplitude;
}

// M1 and M6 for sources [j_begin, j_end) in `traces`: the EPSP Y_j(n) from the traces
// before this step's arrival, then the traces' decay and the arrival.
void Simulator::advance_sources(const TraceView& traces, std::size_t j_begin, std::size_t j_end) {
  const double* arriving = sources_.arriving.data();
  for (std::size_t j = j_begin; j < j_end; ++j) {
    traces.epsp[j] = kernels::epsp(traces.decay[j], traces.rise[j]);                     // M1
    traces.decay[j] = kernels::trace_step(traces.decay[j], decay_factor_, arriving[j]);  // M6
    traces.rise[j] = kernels::trace_step(traces.rise[j], rise_factor_, arriving[j]);     // M6
  }
}

// The traces thread t reads and advances: sources_' own, or, when every thread advances every
// source, thread t's copy (t > 0).
Simulator::TraceView Simulator::traces_of(std::size_t t) {
  if (t == 0 || share_sources_)
    return {sources_.trace_decay.data(), sources_.trace_rise.data(), sources_.epsp.data()};
  ThreadTraces& copy = thread_traces_[t];
  return {copy.decay.data(), copy.rise.data(), copy.epsp.data()};
}

// The threads' copies of the traces take sources_' values: at the start of a run (after a
// restore) and whenever sources_ is reset.
void Simulator::copy_traces_to_threads() {
  for (std::size_t t = 1; t < thread_traces_.size(); ++t)
    thread_traces_[t] = {sources_.trace_decay, sources_.trace_rise, sources_.epsp};
}

// Sub-steps 1, 5 and 6: M1 and M6 for the sources (shared out: the loop ends with a barrier,
// since every thread needs every source's traces; or every thread on its own copy: the same
// arithmetic on the same values, so the copies stay equal to sources_, and no cache line of
// them passes between cores); then this thread's circuits: weighted sums (M6) and the STDP of
// its spiking neurons (M7-M11).
void Simulator::propagate_and_learn(std::int64_t n, bool learning) {
  const auto t = static_cast<std::size_t>(omp_get_thread_num());
  const TraceView traces = traces_of(t);
  const std::size_t n_sources = sources_.trace_decay.size();
  if (share_sources_) {  // thread t's contiguous block, one loop the compiler vectorises
    const auto n_threads = static_cast<std::size_t>(n_threads_);
    advance_sources(traces, n_sources * t / n_threads, n_sources * (t + 1) / n_threads);
#pragma omp barrier
  } else {
    advance_sources(traces, 0, n_sources);
  }
  const auto first = thread_circuit_begin_[t];
  const auto last = thread_circuit_begin_[t + 1];
  deliver(first, last, router_.arrivals_at(n));
  if (!learning) return;
  const auto k_first = network_.first_neuron(circuit_begin_ + first) - neuron_begin_;
  const auto k_last = network_.first_neuron(circuit_begin_ + last) - neuron_begin_;
  // Untrained circuits never learn (docs/model.md 11.1). The sums of the learning neurons are
  // recomputed two by two.
  std::uint64_t waiting = kNoNeuron;
  for (auto k = k_first; k < k_last; ++k) {
    if (!neurons_.spiked[k] || !(all_trained_ || neuron_trained_[k])) continue;
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

// After every thread is done with step n: its arrivals leave the ring, and its weights are
// recorded when traces are sampled.
void Simulator::finish_step(std::int64_t n) {
  std::vector<Arrival>& arrivals = router_.arrivals_at(n);
  for (const Arrival& a : arrivals) {
    sources_.arriving[a.source] = 0.0;
    counters_.deliveries += a.source_circuit == SpikeRouter::kInput ? neurons_.size()
                            : router_.per_neuron_rows() ? router_.neuron_targets(a.source).size()
                                                        : router_.target_neurons(a.source_circuit);
  }
  arrivals.clear();
  if (config_.dt_rec > 0 && n % config_.dt_rec == 0 && trace_phase_ && config_.record_weight_traces)
    record_weights();
}

// M6 for the weighted sums of the neurons of local circuits [circuit_first, circuit_last):
// decay, then each arriving spike adds w_kj * R_j u_j, in arrival (= global source) order.
void Simulator::deliver(std::int64_t circuit_first, std::int64_t circuit_last,
                        const std::vector<Arrival>& arrivals) {
  const auto k_first = network_.first_neuron(circuit_begin_ + circuit_first) - neuron_begin_;
  const auto k_last = network_.first_neuron(circuit_begin_ + circuit_last) - neuron_begin_;
  std::vector<double>& decay = neurons_.weighted_decay;
  std::vector<double>& rise = neurons_.weighted_rise;
  const std::vector<double>& weight = synapses_.weight;
  const std::vector<std::uint64_t>& row_begin = synapses_.row_begin;
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
  if (!router_.per_neuron_rows() && synapses_.size() * sizeof(double) > (8u << 20) &&
      std::none_of(arrivals.begin() + static_cast<std::ptrdiff_t>(n_leading_inputs), arrivals.end(),
                   [](const Arrival& a) { return a.source_circuit == SpikeRouter::kInput; })) {
    deliver_by_circuit(circuit_first, circuit_last, arrivals, n_leading_inputs);
    return;
  }
  for (auto k = k_first; k < k_last; ++k) {
    double d = decay[k] * decay_factor_;
    double r = rise[k] * rise_factor_;
    const double* row = weight.data() + row_begin[k];
    for (std::size_t i = 0; i < n_leading_inputs; ++i) {
      const double contribution = row[leading[i].offset] * leading[i].amplitude;
      d += contribution;
      r += contribution;
    }
    decay[k] = d;
    rise[k] = r;
  }
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
      const std::int64_t c = circuit_begin_ + target.circuit;
      const std::uint64_t first = network_.first_neuron(c) - neuron_begin_;
      for (auto k = first; k < first + static_cast<std::uint64_t>(network_.circuit_size(c)); ++k) {
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
void Simulator::deliver_by_circuit(std::int64_t circuit_first, std::int64_t circuit_last,
                                   const std::vector<Arrival>& arrivals,
                                   std::size_t n_leading_inputs) {
  const auto t = static_cast<std::size_t>(omp_get_thread_num());
  std::vector<std::uint32_t>& begin = thread_event_begin_[t];
  std::vector<PendingEvent>& events = thread_events_[t];
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
  double* decay = neurons_.weighted_decay.data();
  double* rise = neurons_.weighted_rise.data();
  const double* weight = synapses_.weight.data();
  const std::uint64_t* row_begin = synapses_.row_begin.data();
  const Arrival* inputs = arrivals.data();
  // On a large grid nearly every synaptic event misses the caches (a weight in another row
  // each): the events of a circuit a few ahead are prefetched. Performance only.
  constexpr std::size_t kPrefetchAhead = 8;
  auto prefetch_circuit = [&](std::size_t b) {
    const std::int64_t c = circuit_begin_ + circuit_first + static_cast<std::int64_t>(b);
    const std::uint64_t first = network_.first_neuron(c) - neuron_begin_;
    const auto size = static_cast<std::uint64_t>(network_.circuit_size(c));
    for (std::uint32_t e = begin[b]; e < begin[b + 1]; ++e)
      for (auto k = first; k < first + size; ++k)
        __builtin_prefetch(weight + row_begin[k] + events[e].position);
  };
  for (std::size_t b = 0; b < n_circuits; ++b) {
    if (b + kPrefetchAhead < n_circuits) prefetch_circuit(b + kPrefetchAhead);
    const std::int64_t c = circuit_begin_ + circuit_first + static_cast<std::int64_t>(b);
    const std::uint64_t first = network_.first_neuron(c) - neuron_begin_;
    const auto size = static_cast<std::uint64_t>(network_.circuit_size(c));
    const PendingEvent* circuit_events = events.data() + begin[b];
    const std::uint32_t n_events = begin[b + 1] - begin[b];
    for (auto k = first; k < first + size; ++k) {
      double d = decay[k] * decay_factor_;
      double r = rise[k] * rise_factor_;
      const double* row = weight + row_begin[k];
      for (std::size_t i = 0; i < n_leading_inputs; ++i) {
        const double contribution = row[inputs[i].offset] * inputs[i].amplitude;
        d += contribution;
        r += contribution;
      }
      for (std::uint32_t e = 0; e < n_events; ++e) {
        const double contribution = row[circuit_events[e].position] * circuit_events[e].amplitude;
        d += contribution;
        r += contribution;
      }
      decay[k] = d;
      rise[k] = r;
    }
  }
}

// Sub-step 6 for local neuron k, which spiked: M7-M11 on every synapse of its row
// as one vectorised loop over the row (Y gathered from the sources; the same bits as a scalar
// loop, see kernels::exp); its weighted sums follow in recompute_sums.
void Simulator::learn(std::uint64_t k, const double* Y) {
  const auto sources = router_.neuron_row_local_sources(k, local_circuit_of(k));
  const std::uint64_t length = sources.size();
  // The input synapses lead the row; they are left alone when train_inputs is off.
  const std::uint64_t first =
      config_.train_inputs ? 0 : static_cast<std::uint64_t>(config_.n_inputs);
  double* w = synapses_.weight.data() + synapses_.row_begin[k];
  double* S = synapses_.vt_mean.data() + synapses_.row_begin[k];
  double* Q = synapses_.vt_second.data() + synapses_.row_begin[k];
  const double eta = config_.learning_rate;
  switch (config_.schedule) {
    case Schedule::variance_tracking:
      kernels::stdp_variance_tracking_row(w + first, S + first, Q + first, Y,
                                          sources.data() + first, length - first, eta);  // M7-M11
      break;
    case Schedule::inverse_time:
      kernels::weight_step_row(w + first, Y, sources.data() + first, length - first,
                               eta / static_cast<double>(learning_steps_));  // M7'
      break;
    case Schedule::constant:
      kernels::weight_step_row(w + first, Y, sources.data() + first, length - first, eta);  // M7''
      break;
  }
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
  const auto row0 = router_.neuron_row_local_sources(k0, local_circuit_of(k0));
  const double* w0 = synapses_.weight.data() + synapses_.row_begin[k0];
  kernels::WeightedSums sums[2];
  const std::uint64_t ks[2] = {k0, k1};
  if (k1 == kNoNeuron) {
    sums[0] = kernels::weighted_sums(w0, e, e_hat, row0.data(), row0.size());  // M2
  } else {
    const auto row1 = router_.neuron_row_local_sources(k1, local_circuit_of(k1));
    const double* w1 = synapses_.weight.data() + synapses_.row_begin[k1];
    kernels::weighted_sums_two(w0, row0.data(), row0.size(), w1, row1.data(), row1.size(), e, e_hat,
                               sums[0], sums[1]);  // M2
  }
  for (int i = 0; i < (k1 == kNoNeuron ? 1 : 2); ++i) {
    neurons_.weighted_decay[ks[i]] = sums[i].decay;
    neurons_.weighted_rise[ks[i]] = sums[i].rise;
    if (!std::isfinite(sums[i].decay) || !std::isfinite(sums[i].rise))
      note_divergence(n, neuron_begin_ + ks[i]);
  }
}

// Keeps the first non-finite value (earliest step, then lowest neuron); every rank learns of
// it at the next exchange.
void Simulator::note_divergence(std::int64_t step, std::uint64_t neuron) {
  const std::lock_guard<std::mutex> lock(divergence_mutex_);
  const Divergence d{step, neuron};
  if (!divergence_ || d < *divergence_) divergence_ = d;
}

void Simulator::record_weights() {
  if (record_.trace_weight_pre.empty() && !traced_local_.empty()) {
    for (auto k : traced_local_) {
      const auto row = router_.neuron_row_sources(k, local_circuit_of(k));
      record_.trace_weight_pre.insert(record_.trace_weight_pre.end(), row.begin(), row.end());
      record_.trace_weight_post.insert(record_.trace_weight_post.end(), row.size(),
                                       neuron_begin_ + k);
    }
  }
  for (auto k : traced_local_)
    record_.trace_weight.insert(
        record_.trace_weight.end(),
        synapses_.weight.begin() + static_cast<std::ptrdiff_t>(synapses_.row_begin[k]),
        synapses_.weight.begin() + static_cast<std::ptrdiff_t>(synapses_.row_begin[k + 1]));
}

}  // namespace seqlearn
