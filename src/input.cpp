#include "seqlearn/input.hpp"

#include <algorithm>
#include <cmath>
#include <span>


namespace seqlearn {

namespace {

// One step of a task that presents frozen patterns (pattern, xor): the pattern's spikes (channels
// ascending) OR-ed with the overlay noise (docs/model.md 5), whose uniforms `noise` holds per
// channel (nullptr: no overlay); from_pattern marks the pattern's own spikes.
void present_with_overlay(std::span<const std::uint32_t> pattern, const double* noise,
                          double p_noise, std::uint32_t n_inputs, InputStep& out) {
  if (noise == nullptr) {
    out.channels.insert(out.channels.end(), pattern.begin(), pattern.end());
    out.from_pattern.insert(out.from_pattern.end(), pattern.size(), 1);
    return;
  }
  std::size_t next = 0;
  for (std::uint32_t c = 0; c < n_inputs; ++c) {
    const bool pattern_spike = next < pattern.size() && pattern[next] == c;
    if (pattern_spike) ++next;
    if (pattern_spike || noise[c] < p_noise) {
      out.channels.push_back(c);
      out.from_pattern.push_back(pattern_spike ? 1 : 0);
    }
  }
}

}  // namespace

PatternTask::PatternTask(const Config& config, const CounterRng& rng)
    : config_(config), rng_(rng), settings_(config.train_input) {
  // Frozen Poisson trains at r_input, one per channel and pattern, drawn once per run.
  const double mean_isi_ms = 1000.0 / config.train_input.r_input_hz;
  patterns_.resize(static_cast<std::size_t>(config.n_patterns));
  for (int p = 0; p < config.n_patterns; ++p) {
    auto& pattern = patterns_[static_cast<std::size_t>(p)];
    pattern.resize(static_cast<std::size_t>(config.n_inputs));
    if (config.train_input.r_input_hz <= 0) continue;
    for (int channel = 0; channel < config.n_inputs; ++channel) {
      const std::uint64_t entity =
          (static_cast<std::uint64_t>(p) << 32) | static_cast<std::uint32_t>(channel);
      double t = 0;
      for (std::uint64_t k = 0;; ++k) {
        t += rng_.exponential(mean_isi_ms, Purpose::frozen_pattern, entity, k);
        if (t >= config.t_pattern_ms[static_cast<std::size_t>(p)]) break;
        pattern[static_cast<std::size_t>(channel)].push_back(t);
      }
    }
  }
}

void PatternTask::start_phase(const InputSettings& settings) {
  settings_ = settings;
  first_sequence_ = true;
  sequence_ = -1;
  begin_noise();
}

// Noise phase of round_down(T/dt) steps, T ~ U(t_noise_range).
void PatternTask::begin_noise() {
  in_pattern_ = false;
  const double t_ms = settings_.t_noise_min_ms +
                      (settings_.t_noise_max_ms - settings_.t_noise_min_ms) * event_uniform();
  ++event_;
  remaining_ = static_cast<std::int64_t>(std::floor(t_ms / config_.dt_ms));
}

int PatternTask::next_sequence() {
  const int n = static_cast<int>(config_.sequences.size());
  const double u = event_uniform(0);
  const double v = event_uniform(1);
  ++event_;
  switch (settings_.mode) {
    case PatternMode::alternating:
      return first_sequence_ ? 0 : (sequence_ + 1) % n;
    case PatternMode::random_switching: {
      if (first_sequence_) return std::min(n - 1, static_cast<int>(u * n));
      if (n == 1 || u >= settings_.p_switch) return sequence_;
      const int other = std::min(n - 2, static_cast<int>(v * (n - 1)));  // uniform among the others
      return other < sequence_ ? other : other + 1;
    }
    case PatternMode::random_independent: {
      if (settings_.sequence_probs.empty()) return std::min(n - 1, static_cast<int>(u * n));
      double cumulative = 0;
      for (int s = 0; s < n; ++s) {
        cumulative += settings_.sequence_probs[static_cast<std::size_t>(s)];
        if (u < cumulative) return s;
      }
      return n - 1;
    }
  }
  return 0;
}

void PatternTask::begin_sequence() {
  sequence_ = next_sequence();
  first_sequence_ = false;
  warp_ = settings_.warp_min + (settings_.warp_max - settings_.warp_min) * event_uniform();
  ++event_;
  sequence_position_ = 0;
  begin_pattern();
}

// A pattern lasts floor(warp*T/dt) steps; a spike at t maps to step floor(warp*t/dt), and
// several spikes of one channel in one step count once.
void PatternTask::begin_pattern() {
  in_pattern_ = true;
  position_ = 0;
  build_presentation();
  remaining_ = static_cast<std::int64_t>(presentation_.size());
}

void PatternTask::build_presentation() {
  const int p = config_.sequences[static_cast<std::size_t>(sequence_)][sequence_position_];
  const auto length = static_cast<std::int64_t>(
      std::floor(warp_ * config_.t_pattern_ms[static_cast<std::size_t>(p)] / config_.dt_ms));
  presentation_.assign(static_cast<std::size_t>(length), {});
  const auto& pattern = patterns_[static_cast<std::size_t>(p)];
  for (std::size_t channel = 0; channel < pattern.size(); ++channel) {
    for (double t : pattern[channel]) {
      const auto s = static_cast<std::int64_t>(std::floor(warp_ * t / config_.dt_ms));
      if (s >= length) continue;
      auto& bucket = presentation_[static_cast<std::size_t>(s)];
      if (bucket.empty() || bucket.back() != channel)
        bucket.push_back(static_cast<std::uint32_t>(channel));
    }
  }
}

void PatternTask::save(InputState& state) const {
  state.event = event_;
  state.in_pattern = in_pattern_;
  state.first_sequence = first_sequence_;
  state.remaining = remaining_;
  state.position = position_;
  state.sequence = sequence_;
  state.sequence_position = static_cast<std::int64_t>(sequence_position_);
  state.warp = warp_;
  state.pattern =
      in_pattern_ ? config_.sequences[static_cast<std::size_t>(sequence_)][sequence_position_] : -1;
}

void PatternTask::resume(const InputSettings& settings, const InputState& state) {
  settings_ = settings;
  event_ = state.event;
  in_pattern_ = state.in_pattern;
  first_sequence_ = state.first_sequence;
  remaining_ = state.remaining;
  position_ = state.position;
  sequence_ = state.sequence;
  sequence_position_ = static_cast<std::size_t>(std::max<std::int64_t>(0, state.sequence_position));
  warp_ = state.warp;
  presentation_.clear();
  const auto& sequences = config_.sequences;
  const bool known_sequence =
      sequence_ >= 0 && static_cast<std::size_t>(sequence_) < sequences.size();
  if (in_pattern_) {
    // The presentation continues if it is still the same one: its sequence and position
    // exist and name the same pattern, and its length agrees with the steps done and left.
    bool same =
        known_sequence && state.sequence_position >= 0 &&
        sequence_position_ < sequences[static_cast<std::size_t>(sequence_)].size() &&
        sequences[static_cast<std::size_t>(sequence_)][sequence_position_] == state.pattern &&
        warp_ > 0 && position_ >= 0 && remaining_ >= 0;
    if (same) {
      build_presentation();
      same = static_cast<std::uint64_t>(position_) + static_cast<std::uint64_t>(remaining_) ==
             presentation_.size();
    }
    if (!same) {
      presentation_.clear();
      sequence_ = -1;
      first_sequence_ = true;
      begin_noise();
    }
  } else if (!known_sequence) {
    sequence_ = -1;
    first_sequence_ = true;
  }
}

void PatternTask::generate(std::int64_t step, InputStep& out) {
  // Advance past finished segments (zero-length ones included).
  while (remaining_ <= 0) {
    if (!in_pattern_) {
      begin_sequence();
    } else if (++sequence_position_ <
               config_.sequences[static_cast<std::size_t>(sequence_)].size()) {
      begin_pattern();
    } else {
      begin_noise();
    }
  }
  out.channels.clear();
  out.from_pattern.clear();
  const double dt_s = config_.dt_s();
  const auto n_inputs = static_cast<std::uint32_t>(config_.n_inputs);
  const auto u_step = static_cast<std::uint64_t>(step);
  out.pattern_id_2 = -1;
  if (!in_pattern_) {
    out.pattern_id = -1;
    out.sequence_id = -1;
    if (settings_.use_noise && settings_.r_input_hz > 0) {
      const double p_spike = 1.0 - std::exp(-settings_.r_input_hz * dt_s);
      noise_uniforms_.resize(n_inputs);  // uniform(input_noise, c, step) for every c at once
      const double* u = noise_uniforms_.data();
      rng_.uniforms(Purpose::input_noise, 0, n_inputs, u_step, noise_uniforms_.data());
      for (std::uint32_t c = 0; c < n_inputs; ++c) {
        if (u[c] < p_spike) {
          out.channels.push_back(c);
          out.from_pattern.push_back(0);
        }
      }
    }
  } else {
    out.pattern_id = config_.sequences[static_cast<std::size_t>(sequence_)][sequence_position_];
    out.sequence_id = sequence_;
    const double* u = nullptr;
    if (settings_.use_noise && settings_.r_noise_hz > 0) {
      noise_uniforms_.resize(n_inputs);  // uniform(overlay_noise, c, step) for every c at once
      rng_.uniforms(Purpose::overlay_noise, 0, n_inputs, u_step, noise_uniforms_.data());
      u = noise_uniforms_.data();
    }
    present_with_overlay(presentation_[static_cast<std::size_t>(position_)], u,
                         1.0 - std::exp(-settings_.r_noise_hz * dt_s), n_inputs, out);
    ++position_;
  }
  --remaining_;
}

// --- The xor task ------------------------------------------------------------------------

XorTask::XorTask(const Config& config, const CounterRng& rng)
    : config_(config),
      rng_(rng),
      window_(std::max<std::int64_t>(1, config.xor_window_steps())),
      settings_(config.train_input) {
  const auto n = static_cast<std::uint32_t>(config.n_inputs);
  patterns_.assign(4, std::vector<std::vector<double>>(n));
  step_offsets_.assign(4, {});
  step_channels_.assign(4, {});
  noise_uniforms_.resize(n);
  // Only a run with xor phases holds the patterns (their size grows with input.t_pattern_xor,
  // which a pattern-only run should not pay for; the draws do not depend on when they happen).
  if (!config.uses_task(InputTask::xor_task)) return;
  // Four frozen Poisson trains per channel of their half, at r_input over one window.
  const std::uint32_t half_begin[2] = {0, n / 2}, half_end[2] = {n / 2, n};
  const double mean_isi_ms = 1000.0 / config.train_input.r_input_hz;
  for (std::uint32_t k = 0; k < 4; ++k) {
    const std::uint32_t half = k / 2;
    auto& pattern = patterns_[k];
    std::vector<std::pair<std::int64_t, std::uint32_t>> spikes;  // (window step, channel)
    for (std::uint32_t channel = half_begin[half]; channel < half_end[half]; ++channel) {
      if (config.train_input.r_input_hz <= 0) break;
      const std::uint64_t entity = (static_cast<std::uint64_t>(k) << 32) | channel;
      double t = 0;
      for (std::uint64_t spike = 0;; ++spike) {
        t += rng_.exponential(mean_isi_ms, Purpose::xor_pattern, entity, spike);
        if (t >= config.t_pattern_xor_ms) break;
        pattern[channel].push_back(t);
        // A spike at t falls into step floor(t/dt); several in one step count once.
        const auto s = static_cast<std::int64_t>(std::floor(t / config.dt_ms));
        if (s < window_) spikes.emplace_back(s, channel);
      }
    }
    std::sort(spikes.begin(), spikes.end());
    spikes.erase(std::unique(spikes.begin(), spikes.end()), spikes.end());
    // CSR: the channels of window step s are step_channels_[k][offsets[s] .. offsets[s + 1]).
    auto& offsets = step_offsets_[k];
    offsets.assign(static_cast<std::size_t>(window_) + 1, 0);
    for (const auto& spike : spikes) ++offsets[static_cast<std::size_t>(spike.first) + 1];
    for (std::size_t s = 1; s < offsets.size(); ++s) offsets[s] += offsets[s - 1];
    step_channels_[k].reserve(spikes.size());
    for (const auto& spike : spikes) step_channels_[k].push_back(spike.second);
  }
}

void XorTask::start_phase(const InputSettings& settings) {
  settings_ = settings;
  position_ = window_;  // the first step starts the first window
  id_[0] = id_[1] = -1;
}

void XorTask::save(InputState& state) const {
  state.xor_position = position_;
  state.xor_id_1 = id_[0];
  state.xor_id_2 = id_[1];
}

void XorTask::resume(const InputSettings& settings, const InputState& state) {
  settings_ = settings;
  const bool ids_known = state.xor_id_1 >= 0 && state.xor_id_2 >= 0;
  const bool ids_valid = state.xor_id_1 <= 1 && state.xor_id_2 <= 1 && state.xor_id_1 >= -1 &&
                         state.xor_id_2 >= -1 && (state.xor_id_1 < 0) == (state.xor_id_2 < 0);
  if (!ids_valid || state.xor_position < 0 || state.xor_position > window_ ||
      (!ids_known && state.xor_position != window_)) {
    start_phase(settings);  // not a position of this task's windows: the phase starts afresh
    return;
  }
  position_ = state.xor_position;
  id_[0] = state.xor_id_1;
  id_[1] = state.xor_id_2;
}

void XorTask::generate(std::int64_t step, InputStep& out) {
  const auto u_step = static_cast<std::uint64_t>(step);
  if (position_ >= window_) {
    // A new window: each half switches with probability p_switch (the first: uniform).
    for (int half = 0; half < 2; ++half) {
      const double u = rng_.uniform(Purpose::xor_switch, u_step, 0, half);
      if (id_[half] < 0)
        id_[half] = u < 0.5 ? 0 : 1;
      else if (u < settings_.p_switch)
        id_[half] = 1 - id_[half];
    }
    position_ = 0;
  }
  out.pattern_id = id_[0];
  out.pattern_id_2 = id_[1];
  out.sequence_id = -1;
  out.channels.clear();
  out.from_pattern.clear();
  // Half 1's channels precede half 2's: the two patterns' lists joined are ascending.
  const auto p = static_cast<std::size_t>(position_);
  window_channels_.clear();
  for (int half = 0; half < 2; ++half) {
    const auto k = static_cast<std::size_t>(2 * half + id_[half]);
    const auto& offsets = step_offsets_[k];
    window_channels_.insert(window_channels_.end(), step_channels_[k].begin() + offsets[p],
                            step_channels_[k].begin() + offsets[p + 1]);
  }
  const auto n_inputs = static_cast<std::uint32_t>(config_.n_inputs);
  const double* u = nullptr;
  if (settings_.use_noise && settings_.r_noise_hz > 0 && n_inputs > 0) {
    // The overlay's uniforms for all channels at once (the same bits as uniform(overlay_noise,
    // channel, step)).
    rng_.uniforms(Purpose::overlay_noise, 0, n_inputs, u_step, noise_uniforms_.data());
    u = noise_uniforms_.data();
  }
  present_with_overlay(window_channels_, u, 1.0 - std::exp(-settings_.r_noise_hz * config_.dt_s()),
                       n_inputs, out);
  ++position_;
}

// --- The file task -------------------------------------------------------------------------

void FileTask::seek(std::int64_t position) {
  position_ = position;
  const auto& f = *file_;
  spike_cursor_ = static_cast<std::size_t>(
      std::lower_bound(f.spike_step.begin(), f.spike_step.end(), position) - f.spike_step.begin());
  label_cursor_ = static_cast<std::size_t>(
      std::upper_bound(f.label_step.begin(), f.label_step.end(), position) - f.label_step.begin() -
      1);
}

void FileTask::start_phase() {
  if (!file_) throw std::logic_error("seqlearn: the file task runs without input.file loaded");
  seek(0);
}

void FileTask::save(InputState& state) const {
  state.file_position = position_;
}

// input.file may change on a restore: a position beyond the new file's length wraps.
void FileTask::resume(const InputState& state) {
  start_phase();
  seek(std::max<std::int64_t>(0, state.file_position) % file_->n_steps);
}

void FileTask::generate(std::int64_t, InputStep& out) {
  const auto& f = *file_;
  out.channels.clear();
  out.from_pattern.clear();
  while (spike_cursor_ < f.spike_step.size() && f.spike_step[spike_cursor_] == position_)
    out.channels.push_back(f.spike_channel[spike_cursor_++]);
  out.from_pattern.assign(out.channels.size(), 1);
  while (label_cursor_ + 1 < f.label_step.size() && f.label_step[label_cursor_ + 1] <= position_)
    ++label_cursor_;
  out.pattern_id = f.label_value[label_cursor_];
  out.pattern_id_2 = -1;
  out.sequence_id = -1;
  if (++position_ == f.n_steps) {  // cyclic: the file starts again
    position_ = 0;
    spike_cursor_ = 0;
    label_cursor_ = 0;
  }
}

// --- The file task's sources ---------------------------------------------------------------

std::vector<InputSettings> input_file_sources(const Config& config) {
  std::vector<InputSettings> sources;
  for (const Phase& phase : config.protocol) {
    const InputSettings settings = config.input_settings(phase);
    if (settings.task != InputTask::file) continue;
    const bool known = std::any_of(sources.begin(), sources.end(), [&](const InputSettings& s) {
      return s.file == settings.file && s.label_file == settings.label_file;
    });
    if (!known) sources.push_back(settings);
  }
  return sources;
}

std::uint64_t InputFile::spikes_in_first(std::int64_t steps) const {
  if (n_steps <= 0 || steps <= 0) return 0;
  const auto cycles = static_cast<std::uint64_t>(steps / n_steps);
  const std::int64_t rest = steps % n_steps;
  const auto in_rest = static_cast<std::uint64_t>(
      std::lower_bound(spike_step.begin(), spike_step.end(), rest) - spike_step.begin());
  return cycles * spike_step.size() + in_rest;
}

// --- The generator -------------------------------------------------------------------------

InputGenerator::InputGenerator(const Config& config, const CounterRng& rng,
                               const std::vector<LoadedInputFile>& files)
    : pattern_(config, rng),
      xor_(config, rng),
      multi_(config, rng),
      train_file_(nullptr),
      test_file_(nullptr) {
  // At most two sources (train phases', test phases'), each loaded once.
  for (const LoadedInputFile& source : files) {
    const bool test_source =
        source.file == config.test_input.file && source.label_file == config.test_input.label_file;
    const bool train_source = source.file == config.train_input.file &&
                              source.label_file == config.train_input.label_file;
    if (train_source) train_file_ = FileTask(source.data);
    if (test_source && !train_source) {
      test_file_ = FileTask(source.data);
      test_file_source_ = {source.file, source.label_file};
    }
  }
}

void InputGenerator::start_phase(const InputSettings& settings) {
  task_ = settings.task;
  switch (task_) {
    case InputTask::pattern:
      pattern_.start_phase(settings);
      return;
    case InputTask::xor_task:
      xor_.start_phase(settings);
      return;
    case InputTask::file:
      test_file_active_ = is_test_source(settings);
      (test_file_active_ ? test_file_ : train_file_).start_phase();
      return;
    case InputTask::multi:
      multi_.start_phase();
      return;
  }
}

InputGenerator::State InputGenerator::state() const {
  State state;
  state.task = task_;
  pattern_.save(state);
  xor_.save(state);
  multi_.save(state);
  if (const FileTask& file = test_file_active_ ? test_file_ : train_file_; file.loaded())
    file.save(state);
  return state;
}

void InputGenerator::resume(const InputSettings& settings, const State& state) {
  pattern_.set_event(state.event);
  if (state.task != settings.task) {
    start_phase(settings);
    return;
  }
  task_ = settings.task;
  switch (task_) {
    case InputTask::pattern:
      pattern_.resume(settings, state);
      return;
    case InputTask::xor_task:
      xor_.resume(settings, state);
      return;
    case InputTask::file:
      test_file_active_ = is_test_source(settings);
      (test_file_active_ ? test_file_ : train_file_).resume(state);
      return;
    case InputTask::multi:
      multi_.resume(state);
      return;
  }
}

}  // namespace seqlearn
