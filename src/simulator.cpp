#include "seqlearn/simulator.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <string>

#include "seqlearn/kernels.hpp"

namespace seqlearn {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

constexpr int kStepShift = 40;  // spike encoding for the exchange: (offset << 40) | neuron id
constexpr std::uint64_t kNeuronMask = (std::uint64_t{1} << kStepShift) - 1;
constexpr std::uint64_t kControlMask = std::uint64_t{0xFF} << 56;
constexpr std::uint64_t kStopWord = std::uint64_t{0xFF} << 56;
constexpr std::uint64_t kDivergedNeuronWord = std::uint64_t{0xFE} << 56;
constexpr std::uint64_t kDivergedStepWord = std::uint64_t{0xFD} << 56;
constexpr std::uint64_t kNoNeuron = std::numeric_limits<std::uint64_t>::max();

}  // namespace

Simulator::Simulator(const Config& config, Communicator& comm)
    : config_(config),
      comm_(comm),
      rng_(config.seed),
      network_(config, comm.size()),
      input_(config_, rng_),
      decay_factor_(1.0 - config.dt_ms / config.tau_decay_ms),
      rise_factor_(1.0 - config.dt_ms / config.tau_rise_ms) {
  n_threads_ = config.threads > 0 ? config.threads : omp_get_max_threads();
  std::tie(circuit_begin_, circuit_end_) = network_.circuits_of_rank(comm.rank());
  neuron_begin_ = network_.first_neuron(circuit_begin_);
  neuron_end_ = network_.first_neuron(circuit_end_);
  if (network_.n_neurons() >= (std::uint64_t{1} << kStepShift))
    throw ConfigError("network.grid: more than 2^40 neurons are not supported");
  if (!config_.forced_spikes_file.empty()) {
    config_.forced = load_forced_spikes(config_.forced_spikes_file, config_.n_inputs,
                                        network_.n_neurons(), config_.total_steps());
  }
  choose_traced_neurons();
  build_local_network();
}

// --- Set-up -----------------------------------------------------------------------------

void Simulator::build_local_network() {
  const auto n_local_circuits = static_cast<std::size_t>(circuit_end_ - circuit_begin_);
  const auto n_inputs = static_cast<std::uint32_t>(config_.n_inputs);

  // Source circuits of every local circuit; their union is the set of needed circuits.
  // The local circuits are included too: their owner keeps (and checkpoints) their state
  // as sources, whether or not a local circuit listens to them.
  std::vector<std::vector<std::uint32_t>> sources(n_local_circuits);
  std::vector<std::uint32_t> needed;
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    sources[b] = network_.sources_of(circuit_begin_ + static_cast<std::int64_t>(b));
    needed.insert(needed.end(), sources[b].begin(), sources[b].end());
    needed.push_back(static_cast<std::uint32_t>(circuit_begin_ + static_cast<std::int64_t>(b)));
  }
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  needed_circuits_ = needed;
  needed_index_of_circuit_.assign(static_cast<std::size_t>(network_.n_circuits()), -1);
  std::uint64_t n_sources = n_inputs;
  for (std::size_t i = 0; i < needed.size(); ++i) {
    needed_index_of_circuit_[needed[i]] = static_cast<std::int32_t>(i);
    needed_first_source_.push_back(static_cast<std::uint32_t>(n_sources));
    n_sources += static_cast<std::uint64_t>(network_.circuit_size(needed[i]));
  }
  if (n_sources > std::numeric_limits<std::uint32_t>::max())
    throw ConfigError("network: more than 2^32 sources onto one rank; use more ranks");

  // Rows: [inputs][source circuit blocks in ascending circuit order].
  circuit_block_begin_.assign(n_local_circuits + 1, 0);
  std::vector<std::vector<Target>> targets_of(needed.size());
  std::vector<std::uint64_t> row_length(n_local_circuits);
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    std::uint64_t offset = 0;
    if (n_inputs > 0) blocks_.push_back({0, n_inputs, 0});
    offset += n_inputs;
    for (auto a : sources[b]) {
      const auto i = static_cast<std::size_t>(needed_index_of_circuit_[a]);
      const auto k = static_cast<std::uint32_t>(network_.circuit_size(a));
      blocks_.push_back({needed_first_source_[i], k, offset});
      targets_of[i].push_back({static_cast<std::uint32_t>(b), offset});
      offset += k;
    }
    circuit_block_begin_[b + 1] = blocks_.size();
    row_length[b] = offset;
  }
  target_begin_.assign(needed.size() + 1, 0);
  for (std::size_t i = 0; i < needed.size(); ++i) {
    targets_.insert(targets_.end(), targets_of[i].begin(), targets_of[i].end());
    target_begin_[i + 1] = targets_.size();
    std::uint64_t reached = 0;
    for (const Target& t : targets_of[i])
      reached += static_cast<std::uint64_t>(network_.circuit_size(circuit_begin_ + t.circuit));
    target_neurons_.push_back(reached);
  }

  // Synapses: weights (MODEL 4.6: zero, or log U(0,1)), S = 0, Q = 1.
  const auto n_local_neurons = static_cast<std::size_t>(neuron_end_ - neuron_begin_);
  row_begin_.assign(n_local_neurons + 1, 0);
  std::vector<double> circuit_work(n_local_circuits);
  for (std::size_t b = 0; b < n_local_circuits; ++b) {
    const auto c = circuit_begin_ + static_cast<std::int64_t>(b);
    const std::uint64_t first = network_.first_neuron(c) - neuron_begin_;
    for (int i = 0; i < network_.circuit_size(c); ++i)
      row_begin_[first + static_cast<std::uint64_t>(i) + 1] = row_length[b];
    circuit_work[b] = static_cast<double>(row_length[b] + 1) * network_.circuit_size(c);
  }
  for (std::size_t k = 0; k < n_local_neurons; ++k) row_begin_[k + 1] += row_begin_[k];
  const std::uint64_t n_synapses = row_begin_.back();
  weight_.assign(n_synapses, 0.0);
  vt_mean_.assign(n_synapses, 0.0);
  vt_second_.assign(n_synapses, 1.0);
  if (config_.initial_weights == InitialWeights::log_uniform) {
    for (std::size_t k = 0; k < n_local_neurons; ++k)
      for (std::uint64_t s = row_begin_[k]; s < row_begin_[k + 1]; ++s)
        weight_[s] =
            std::log(rng_.uniform(Purpose::initial_weight, neuron_begin_ + k, s - row_begin_[k]));
  }

  // Sources: traces 0, R = 1, u = U, isi clock from step 0 (MODEL 2).
  trace_decay_.assign(n_sources, 0.0);
  trace_rise_.assign(n_sources, 0.0);
  epsp_.assign(n_sources, 0.0);
  stp_U_.resize(n_sources);
  stp_D_s_.resize(n_sources);
  stp_F_s_.resize(n_sources);
  auto set_parameters = [&](std::uint64_t local, std::uint64_t global) {
    const StpParameters p = network_.stp_parameters(global);
    stp_U_[local] = p.U;
    stp_D_s_[local] = p.D_s;
    stp_F_s_[local] = p.F_s;
  };
  for (std::uint32_t c = 0; c < n_inputs; ++c) set_parameters(c, c);
  for (std::size_t i = 0; i < needed.size(); ++i) {
    const std::uint64_t first = network_.first_neuron(needed[i]);
    for (int o = 0; o < network_.circuit_size(needed[i]); ++o)
      set_parameters(needed_first_source_[i] + static_cast<std::uint64_t>(o),
                     n_inputs + first + static_cast<std::uint64_t>(o));
  }
  stp_R_.assign(n_sources, 1.0);
  stp_u_ = stp_U_;
  last_spike_.assign(n_sources, -1);

  weighted_decay_.assign(n_local_neurons, 0.0);
  weighted_rise_.assign(n_local_neurons, 0.0);
  bias_.assign(n_local_neurons, 0.0);
  potential_.assign(n_local_neurons, 0.0);
  rate_fraction_.assign(n_local_neurons, 0.0);
  spiked_.assign(n_local_neurons, 0);
  readout_.assign(n_local_neurons, 0.0);
  arrivals_.assign(static_cast<std::size_t>(config_.delay_steps), {});
  interval_inputs_.resize(static_cast<std::size_t>(config_.delay_steps));

  // Threads own contiguous circuits of about equal synapse counts.
  double total_work = 0;
  for (double w : circuit_work) total_work += w;
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
      const std::uint64_t k = config_.record_list[0];
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

// Source ids of the row shared by the neurons of local circuit b (global_source_id per
// synapse, in row order).
std::vector<std::uint64_t> Simulator::row_sources(std::int64_t b) const {
  std::vector<std::uint64_t> row;
  for (auto i = circuit_block_begin_[static_cast<std::size_t>(b)];
       i < circuit_block_begin_[static_cast<std::size_t>(b) + 1]; ++i)
    for (std::uint32_t o = 0; o < blocks_[i].count; ++o) row.push_back(global_source_id(blocks_[i].first_source + o));
  return row;
}

std::vector<std::uint64_t> Simulator::synapse_sources() const {
  std::vector<std::uint64_t> sources;
  sources.reserve(weight_.size());
  for (std::int64_t b = 0; b < circuit_end_ - circuit_begin_; ++b) {
    const auto row = row_sources(b);
    for (int k = 0; k < network_.circuit_size(circuit_begin_ + b); ++k)
      sources.insert(sources.end(), row.begin(), row.end());
  }
  return sources;
}

std::vector<std::uint64_t> Simulator::synapse_targets() const {
  std::vector<std::uint64_t> targets;
  targets.reserve(weight_.size());
  for (std::size_t k = 0; k + 1 < row_begin_.size(); ++k)
    targets.insert(targets.end(), row_begin_[k + 1] - row_begin_[k], neuron_begin_ + k);
  return targets;
}

// --- The run ------------------------------------------------------------------------------

// MODEL 6: a test phase starts from initial EPSP, STP and readout state; weights, S and Q stay.
void Simulator::reset_transients(std::int64_t step) {
  std::fill(trace_decay_.begin(), trace_decay_.end(), 0.0);
  std::fill(trace_rise_.begin(), trace_rise_.end(), 0.0);
  std::fill(stp_R_.begin(), stp_R_.end(), 1.0);
  stp_u_ = stp_U_;
  std::fill(last_spike_.begin(), last_spike_.end(), step - 1);
  std::fill(weighted_decay_.begin(), weighted_decay_.end(), 0.0);
  std::fill(weighted_rise_.begin(), weighted_rise_.end(), 0.0);
  std::fill(readout_.begin(), readout_.end(), 0.0);
  for (auto& slot : arrivals_) slot.clear();
}

Simulator::Outcome Simulator::run(const std::function<void(std::int64_t, std::int64_t)>& progress) {
  const std::int64_t total = config_.total_steps();
  record_.first_step = first_step_;
  record_.pattern_id.reserve(static_cast<std::size_t>(comm_.rank() == 0 ? total : 0));
  const std::int64_t every = config_.checkpoint_every_steps;
  std::int64_t last_checkpoint = -1;
  for (phase_index_ = 0; phase_index_ < config_.protocol.size(); ++phase_index_) {
    const Phase& phase = config_.protocol[phase_index_];
    const bool is_test = phase.kind == PhaseKind::test;
    const InputSettings& settings = is_test ? config_.test_input : config_.train_input;
    if (phase.continues) {
      input_.resume(settings, restored_generator_);
    } else {
      input_.start_phase(settings);
      if (is_test && config_.reset_transients) reset_transients(step_);
    }
    phase_end_ = step_ + phase.steps;
    // Exchange intervals of `delay` steps, aligned to the phase start (MODEL 4, DESIGN 3).
    while (step_ < phase_end_) {
      const std::int64_t previous = step_;
      const std::int64_t interval_end = std::min(step_ + config_.delay_steps, phase_end_);
      for (std::int64_t n = step_; n < interval_end; ++n)
        step(n, phase.learning, step_, n + 1 == interval_end);
      step_ = interval_end;
      if (progress) progress(step_ - first_step_, total);
      if (stop_agreed_) {
        write_checkpoint(config_.checkpoint_file);
        return Outcome::stopped;
      }
      if (every > 0 && step_ / every > previous / every) {
        write_checkpoint(config_.checkpoint_file);
        last_checkpoint = step_;
      }
    }
  }
  if (every > 0 && last_checkpoint != step_) write_checkpoint(config_.checkpoint_file);
  return Outcome::completed;
}

// One step n, in the order of MODEL.md section 4:
//   1. Y_j(n) = e_j - ê_j for every source this rank needs                        (M1)
//   2. u_k, p_k for local neurons: u from event-driven sums of w*e and w*ê       (M2-M4)
//   3. z_k(n): sampled (M5) or forced (MODEL 7)
//   4. x_j(n): the input generator, identical on every rank (MODEL 5), or forced
//   -- at the last step of an exchange interval: one Allgather of the interval's local
//      spikes; then, in step order, each spike's amplitude R*u is queued for step
//      s + delay - 1 and its source's STP state advanced (M12-M14). STP state is used only
//      at a source's next spike, so advancing it here, not at sub-step 7, changes nothing.
//   5. EPSP traces of all sources and the neurons' weighted sums decay and take this step's
//      arrivals (M6)
//   6. STDP for every local neuron that spiked, using Y(n) from sub-step 1 (M7-M11);
//      its weighted sums are then recomputed from the new weights.
void Simulator::step(std::int64_t n, bool learning, std::int64_t interval_start,
                     bool exchange_now) {
  const auto start = std::chrono::steady_clock::now();
  const bool record_traces = config_.dt_rec > 0 && n % config_.dt_rec == 0;
  const bool sample = !config_.forced.neurons_forced;

#pragma omp parallel num_threads(n_threads_) if (n_threads_ > 1)
  {
#pragma omp for schedule(static)
    for (std::size_t j = 0; j < epsp_.size(); ++j)
      epsp_[j] = kernels::epsp(trace_decay_[j], trace_rise_[j]);  // M1
    const int t = omp_get_thread_num();
    for (auto b = thread_circuit_begin_[static_cast<std::size_t>(t)];
         b < thread_circuit_begin_[static_cast<std::size_t>(t) + 1]; ++b)
      update_circuit(b, n, sample);
  }

  // Sub-step 3 in validation mode: forced neuron spikes.
  if (!sample) {
    std::fill(spiked_.begin(), spiked_.end(), 0);
    const auto& forced = config_.forced.neurons;
    for (; forced_neuron_cursor_ < forced.size() && forced[forced_neuron_cursor_].step <= n;
         ++forced_neuron_cursor_) {
      const auto& spike = forced[forced_neuron_cursor_];
      if (spike.step == n && spike.id >= neuron_begin_ && spike.id < neuron_end_)
        spiked_[spike.id - neuron_begin_] = 1;
    }
  }
  const auto offset = static_cast<std::uint64_t>(n - interval_start);
  for (std::size_t k = 0; k < spiked_.size(); ++k) {
    readout_[k] = readout_[k] * decay_factor_ + spiked_[k];  // MODEL 8, tau = tau_decay
    if (!spiked_[k]) continue;
    interval_spikes_.push_back((offset << kStepShift) | (neuron_begin_ + k));
    record_.spike_step.push_back(n);
    record_.spike_neuron.push_back(neuron_begin_ + k);
    ++counters_.network_spikes;
  }

  // Sub-step 4: input spikes.
  InputStep& inputs = interval_inputs_[offset];
  if (config_.forced.inputs_forced) {
    inputs.channels.clear();
    inputs.from_pattern.clear();
    inputs.pattern_id = inputs.sequence_id = -1;
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
  if (comm_.rank() == 0) {
    record_.pattern_id.push_back(inputs.pattern_id);
    record_.sequence_id.push_back(inputs.sequence_id);
    record_.input_step.insert(record_.input_step.end(), inputs.channels.size(), n);
    record_.input_channel.insert(record_.input_channel.end(), inputs.channels.begin(),
                                 inputs.channels.end());
    record_.input_from_pattern.insert(record_.input_from_pattern.end(), inputs.from_pattern.begin(),
                                      inputs.from_pattern.end());
  }
  if (record_traces) {
    record_.trace_steps.push_back(n);
    for (auto k : traced_local_) {
      record_.trace_u.push_back(potential_[k]);
      record_.trace_p.push_back(rate_fraction_[k]);
      record_.trace_readout.push_back(readout_[k]);
    }
  }
  timers_.compute_s += seconds_since(start);

  if (exchange_now) exchange(interval_start, n - interval_start + 1);

  const auto start_update = std::chrono::steady_clock::now();
  if (learning) ++learning_steps_;
  auto& arrivals = arrivals_[static_cast<std::size_t>(n % config_.delay_steps)];
#pragma omp parallel num_threads(n_threads_) if (n_threads_ > 1)
  {
    // Sub-step 5 (M6) for the sources ...
#pragma omp for schedule(static)
    for (std::size_t j = 0; j < trace_decay_.size(); ++j) {
      trace_decay_[j] = trace_decay_[j] * decay_factor_;
      trace_rise_[j] = trace_rise_[j] * rise_factor_;
    }
#pragma omp single
    for (const Arrival& a : arrivals) {
      trace_decay_[a.source] += a.amplitude;
      trace_rise_[a.source] += a.amplitude;
    }
    // ... and for the neurons' weighted sums; then sub-step 6 (M7-M11).
    const int t = omp_get_thread_num();
    const auto first = thread_circuit_begin_[static_cast<std::size_t>(t)];
    const auto last = thread_circuit_begin_[static_cast<std::size_t>(t) + 1];
    deliver(first, last, arrivals);
    if (learning) {
      const auto k_first = network_.first_neuron(circuit_begin_ + first) - neuron_begin_;
      const auto k_last = network_.first_neuron(circuit_begin_ + last) - neuron_begin_;
      for (auto k = k_first; k < k_last; ++k)
        if (spiked_[k]) learn(k);
    }
  }
  for (const Arrival& a : arrivals)
    counters_.deliveries +=
        a.source_circuit == kInput ? weighted_decay_.size() : target_neurons_[a.source_circuit];
  arrivals.clear();
  if (record_traces) record_weights();
  timers_.compute_s += seconds_since(start_update);
}

// Sub-step 2 (M2-M4) and, when sampling, sub-step 3 (M5) for one local circuit.
void Simulator::update_circuit(std::int64_t local_circuit, std::int64_t n, bool sample) {
  const std::int64_t c = circuit_begin_ + local_circuit;
  const std::uint64_t first = network_.first_neuron(c) - neuron_begin_;
  const std::uint64_t last = first + static_cast<std::uint64_t>(network_.circuit_size(c));
  for (auto k = first; k < last; ++k)
    potential_[k] = bias_[k] + (weighted_decay_[k] - weighted_rise_[k]);       // M2
  kernels::softmax(&potential_[first], &rate_fraction_[first], last - first);  // M3
  for (auto k = first; k < last; ++k)
    if (!std::isfinite(rate_fraction_[k])) note_divergence(neuron_begin_ + k, n);
  if (!sample) return;
  const double dt_s = config_.dt_s();
  for (auto k = first; k < last; ++k) {
    const double uniform =
        rng_.uniform(Purpose::neuron_spike, neuron_begin_ + k, static_cast<std::uint64_t>(n));
    // 1 - exp(-x) <= x: a uniform clearly above x is no spike, without computing the exp
    // (the margin covers the rounding of 1 - exp(-x)); the decision is the same either way.
    const double x = config_.r_max_hz * rate_fraction_[k] * dt_s;
    spiked_[k] =
        uniform < x + 0x1p-50 &&
        uniform < kernels::spike_probability(config_.r_max_hz, rate_fraction_[k], dt_s);  // M4-M5
  }
}

// The one collective of the interval, then amplitudes and STP (M12-M14) for the interval's
// spikes of every needed source, in step order and, within a step, in global source order
// (inputs, then neurons by id): the same order on every rank.
void Simulator::exchange(std::int64_t interval_start, std::int64_t interval_steps) {
  const auto start = std::chrono::steady_clock::now();
  // Control words ride along with the spikes (their top byte is never 0): a stop request and
  // divergence reports reach every rank in the same exchange, with no extra collective.
  if (stop_requested_.load()) interval_spikes_.push_back(kStopWord);
  if (diverged_neuron_.load() != kNoNeuron) {
    interval_spikes_.push_back(kDivergedNeuronWord | diverged_neuron_.load());
    interval_spikes_.push_back(kDivergedStepWord |
                               static_cast<std::uint64_t>(diverged_step_.load()));
  }
  std::vector<std::uint64_t> all = comm_.all_gather(interval_spikes_);
  interval_spikes_.clear();
  timers_.exchange_s += seconds_since(start);
  std::uint64_t bad_neuron = kNoNeuron;
  std::uint64_t bad_step = kNoNeuron;
  const auto control =
      std::stable_partition(all.begin(), all.end(), [](std::uint64_t w) { return (w >> 56) == 0; });
  for (auto it = control; it != all.end(); ++it) {
    const std::uint64_t payload = *it & ((std::uint64_t{1} << 56) - 1);
    if ((*it & kControlMask) == kStopWord) stop_agreed_ = true;
    if ((*it & kControlMask) == kDivergedNeuronWord) bad_neuron = std::min(bad_neuron, payload);
    if ((*it & kControlMask) == kDivergedStepWord) bad_step = std::min(bad_step, payload);
  }
  all.erase(control, all.end());
  if (bad_neuron != kNoNeuron)
    throw DivergenceError(
        "the dynamics diverged at step " + std::to_string(bad_step) + ": neuron " +
        std::to_string(bad_neuron) +
        " has a non-finite potential, rate or weight (nothing was written); lower "
        "plasticity.learning_rate or the input rates");

  const auto start_stp = std::chrono::steady_clock::now();
  // Ranks own ascending id ranges, so a stable sort by step offset leaves ids ascending.
  if (interval_steps > 1)
    std::stable_sort(all.begin(), all.end(), [](std::uint64_t a, std::uint64_t b) {
      return (a >> kStepShift) < (b >> kStepShift);
    });
  const double dt_s = config_.dt_s();
  const auto delay = config_.delay_steps;
  auto emit = [&](std::uint32_t j, std::uint32_t circuit_index, std::uint32_t offset,
                  std::int64_t s) {
    double amplitude = 1.0;  // R*u = 1 without STP (MODEL 2)
    if (config_.use_stp) {
      amplitude = stp_R_[j] * stp_u_[j];
      const double isi_s = static_cast<double>(s - last_spike_[j] - 1) * dt_s;  // M14
      kernels::stp_after_spike(stp_R_[j], stp_u_[j], stp_U_[j], stp_D_s_[j], stp_F_s_[j],
                               isi_s);  // M12-M13
    }
    last_spike_[j] = s;
    arrivals_[static_cast<std::size_t>((s + delay - 1) % delay)].push_back(
        {j, circuit_index, offset, amplitude});
  };
  std::size_t next = 0;
  for (std::int64_t o = 0; o < interval_steps; ++o) {
    const std::int64_t s = interval_start + o;
    for (auto channel : interval_inputs_[static_cast<std::size_t>(o)].channels)
      emit(channel, kInput, channel, s);
    for (; next < all.size() && static_cast<std::int64_t>(all[next] >> kStepShift) == o; ++next) {
      const std::uint64_t neuron = all[next] & kNeuronMask;
      const std::int64_t circuit = network_.circuit_of(neuron);
      const std::int32_t i = needed_index_of_circuit_[static_cast<std::size_t>(circuit)];
      if (i < 0) continue;
      const auto offset = static_cast<std::uint32_t>(neuron - network_.first_neuron(circuit));
      emit(needed_first_source_[static_cast<std::size_t>(i)] + offset,
           static_cast<std::uint32_t>(i), offset, s);
    }
  }
  timers_.compute_s += seconds_since(start_stp);
}

// M6 for the weighted sums of the neurons of local circuits [circuit_first, circuit_last):
// decay, then each arriving spike adds w_kj * R_j u_j, in arrival (= global source) order.
void Simulator::deliver(std::int64_t circuit_first, std::int64_t circuit_last,
                        const std::vector<Arrival>& arrivals) {
  const auto k_first = network_.first_neuron(circuit_begin_ + circuit_first) - neuron_begin_;
  const auto k_last = network_.first_neuron(circuit_begin_ + circuit_last) - neuron_begin_;
  for (auto k = k_first; k < k_last; ++k) {
    weighted_decay_[k] = weighted_decay_[k] * decay_factor_;
    weighted_rise_[k] = weighted_rise_[k] * rise_factor_;
  }
  for (const Arrival& a : arrivals) {
    if (a.source_circuit == kInput) {
      for (auto k = k_first; k < k_last; ++k) {
        const double contribution = weight_[row_begin_[k] + a.offset] * a.amplitude;
        weighted_decay_[k] += contribution;
        weighted_rise_[k] += contribution;
      }
      continue;
    }
    const auto begin =
        targets_.begin() + static_cast<std::ptrdiff_t>(target_begin_[a.source_circuit]);
    const auto end =
        targets_.begin() + static_cast<std::ptrdiff_t>(target_begin_[a.source_circuit + 1]);
    auto it =
        std::lower_bound(begin, end, static_cast<std::uint32_t>(circuit_first),
                         [](const Target& target, std::uint32_t b) { return target.circuit < b; });
    for (; it != end && it->circuit < circuit_last; ++it) {
      const std::int64_t c = circuit_begin_ + it->circuit;
      const std::uint64_t first = network_.first_neuron(c) - neuron_begin_;
      for (auto k = first; k < first + static_cast<std::uint64_t>(network_.circuit_size(c)); ++k) {
        const double contribution =
            weight_[row_begin_[k] + it->row_offset + a.offset] * a.amplitude;
        weighted_decay_[k] += contribution;
        weighted_rise_[k] += contribution;
      }
    }
  }
}

// Sub-step 6 for one neuron that spiked: M7-M11 on every synapse of its row, then its
// weighted sums from scratch with the new weights and the traces after M6.
void Simulator::learn(std::uint64_t k) {
  const double eta = config_.learning_rate;
  const bool variance_tracking = config_.schedule == Schedule::variance_tracking;
  const double fixed_rate =
      config_.schedule == Schedule::inverse_time ? eta / static_cast<double>(learning_steps_) : eta;
  const auto c = static_cast<std::size_t>(network_.circuit_of(neuron_begin_ + k) - circuit_begin_);
  double sum_decay = 0;
  double sum_rise = 0;
  std::uint64_t updated = 0;
  for (auto b = circuit_block_begin_[c]; b < circuit_block_begin_[c + 1]; ++b) {
    const Block& block = blocks_[b];
    double* w = weight_.data() + row_begin_[k] + block.row_offset;
    double* S = vt_mean_.data() + row_begin_[k] + block.row_offset;
    double* Q = vt_second_.data() + row_begin_[k] + block.row_offset;
    const double* Y = epsp_.data() + block.first_source;
    const bool trains =
        config_.train_inputs || block.first_source >= static_cast<std::uint32_t>(config_.n_inputs);
    if (trains) {
      if (variance_tracking) {
        for (std::uint32_t i = 0; i < block.count; ++i)
          kernels::stdp_variance_tracking(w[i], S[i], Q[i], Y[i], eta);
      } else {
        for (std::uint32_t i = 0; i < block.count; ++i)
          w[i] = kernels::weight_step(w[i], Y[i], fixed_rate);  // M7', M7''
      }
      updated += block.count;
    }
    const double* e = trace_decay_.data() + block.first_source;
    const double* e_rise = trace_rise_.data() + block.first_source;
    for (std::uint32_t i = 0; i < block.count; ++i) {
      sum_decay += w[i] * e[i];
      sum_rise += w[i] * e_rise[i];
    }
  }
  weighted_decay_[k] = sum_decay;
  weighted_rise_[k] = sum_rise;
  if (!std::isfinite(sum_decay) || !std::isfinite(sum_rise))
    note_divergence(neuron_begin_ + k, step_);
#pragma omp atomic
  counters_.stdp_updates += updated;
}

// Remembers the first (lowest id, earliest step) non-finite value; reported at the next exchange.
void Simulator::note_divergence(std::uint64_t neuron, std::int64_t step) {
  std::uint64_t current = diverged_neuron_.load();
  while (neuron < current && !diverged_neuron_.compare_exchange_weak(current, neuron)) {
  }
  std::int64_t current_step = diverged_step_.load();
  while (step < current_step && !diverged_step_.compare_exchange_weak(current_step, step)) {
  }
}

void Simulator::record_weights() {
  if (record_.trace_weight_pre.empty() && !traced_local_.empty()) {
    for (auto k : traced_local_) {
      const auto row = row_sources(network_.circuit_of(neuron_begin_ + k) - circuit_begin_);
      record_.trace_weight_pre.insert(record_.trace_weight_pre.end(), row.begin(), row.end());
      record_.trace_weight_post.insert(record_.trace_weight_post.end(), row.size(), neuron_begin_ + k);
    }
  }
  for (auto k : traced_local_)
    record_.trace_weight.insert(record_.trace_weight.end(),
                                weight_.begin() + static_cast<std::ptrdiff_t>(row_begin_[k]),
                                weight_.begin() + static_cast<std::ptrdiff_t>(row_begin_[k + 1]));
}

}  // namespace seqlearn
