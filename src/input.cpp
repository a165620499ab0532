#include "seqlearn/input.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
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

void PatternTask::save(TaskPosition& position) const {
  position.set_integer("event", static_cast<std::int64_t>(event_));
  position.set_integer("in_pattern", in_pattern_);
  position.set_integer("first_sequence", first_sequence_);
  position.set_integer("remaining", remaining_);
  position.set_integer("position", position_);
  position.set_integer("sequence", sequence_);
  position.set_integer("sequence_position", static_cast<std::int64_t>(sequence_position_));
  position.set_real("warp", warp_);
  position.set_integer(
      "pattern", in_pattern_
                     ? config_.sequences[static_cast<std::size_t>(sequence_)][sequence_position_]
                     : -1);
}

void PatternTask::resume(const InputSettings& settings, const TaskPosition& saved) {
  settings_ = settings;
  event_ = static_cast<std::uint64_t>(saved.integer("event"));
  in_pattern_ = saved.integer("in_pattern") != 0;
  first_sequence_ = saved.integer("first_sequence") != 0;
  remaining_ = saved.integer("remaining");
  position_ = saved.integer("position");
  sequence_ = static_cast<int>(saved.integer("sequence"));
  const std::int64_t sequence_position = saved.integer("sequence_position");
  sequence_position_ = static_cast<std::size_t>(std::max<std::int64_t>(0, sequence_position));
  warp_ = saved.real("warp");
  presentation_.clear();
  const auto& sequences = config_.sequences;
  const bool known_sequence =
      sequence_ >= 0 && static_cast<std::size_t>(sequence_) < sequences.size();
  if (in_pattern_) {
    // The presentation continues if it is still the same one: its sequence and position
    // exist and name the same pattern, and its length agrees with the steps done and left.
    bool same = known_sequence && sequence_position >= 0 &&
                sequence_position_ < sequences[static_cast<std::size_t>(sequence_)].size() &&
                sequences[static_cast<std::size_t>(sequence_)][sequence_position_] ==
                    saved.integer("pattern") &&
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
      window_ms_(real_option(config, "input.t_pattern_xor")),
      window_(std::max<std::int64_t>(1, std::llround(window_ms_ / config.dt_ms))),
      settings_(config.train_input) {
  const auto n = static_cast<std::uint32_t>(config.n_inputs);
  patterns_.assign(4, std::vector<std::vector<double>>(n));
  step_offsets_.assign(4, {});
  step_channels_.assign(4, {});
  noise_uniforms_.resize(n);
  // Only a run with xor phases holds the patterns (their size grows with input.t_pattern_xor,
  // which a pattern-only run should not pay for; the draws do not depend on when they happen).
  if (!config.uses_task("xor")) return;
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
        if (t >= window_ms_) break;
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

void XorTask::save(TaskPosition& position) const {
  position.set_integer("xor_position", position_);
  position.set_integer("xor_id_1", id_[0]);
  position.set_integer("xor_id_2", id_[1]);
}

void XorTask::resume(const InputSettings& settings, const TaskPosition& saved) {
  settings_ = settings;
  const std::int64_t at = saved.integer("xor_position");
  const std::int64_t id_1 = saved.integer("xor_id_1"), id_2 = saved.integer("xor_id_2");
  const bool ids_known = id_1 >= 0 && id_2 >= 0;
  const bool ids_valid =
      id_1 <= 1 && id_2 <= 1 && id_1 >= -1 && id_2 >= -1 && (id_1 < 0) == (id_2 < 0);
  if (!ids_valid || at < 0 || at > window_ || (!ids_known && at != window_)) {
    start_phase(settings);  // not a position of this task's windows: the phase starts afresh
    return;
  }
  position_ = at;
  id_[0] = static_cast<int>(id_1);
  id_[1] = static_cast<int>(id_2);
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

void FileReplay::seek(std::int64_t position) {
  position_ = position;
  const auto& f = *file_;
  spike_cursor_ = static_cast<std::size_t>(
      std::lower_bound(f.spike_step.begin(), f.spike_step.end(), position) - f.spike_step.begin());
  label_cursor_ = static_cast<std::size_t>(
      std::upper_bound(f.label_step.begin(), f.label_step.end(), position) - f.label_step.begin() -
      1);
}

void FileReplay::start_phase() {
  if (!file_) throw std::logic_error("seqlearn: the file task runs without input.file loaded");
  seek(0);
}

void FileReplay::resume(std::int64_t position) {
  start_phase();
  seek(std::max<std::int64_t>(0, position) % file_->n_steps);
}

void FileReplay::generate(InputStep& out) {
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

FileTask::FileTask(const Config& config, const std::vector<LoadedInputFile>& files) {
  // At most two sources (train phases', test phases'), each loaded once.
  for (const LoadedInputFile& source : files) {
    const bool test_source =
        source.file == config.test_input.file && source.label_file == config.test_input.label_file;
    const bool train_source = source.file == config.train_input.file &&
                              source.label_file == config.train_input.label_file;
    if (train_source) train_ = FileReplay(source.data);
    if (test_source && !train_source) {
      test_ = FileReplay(source.data);
      test_source_ = {source.file, source.label_file};
    }
  }
}

void FileTask::start_phase(const InputSettings& settings) {
  test_active_ = is_test_source(settings);
  active().start_phase();
}

// A run without file phases has no file: its checkpoints hold position 0.
void FileTask::save(TaskPosition& position) const {
  const FileReplay& replay = test_active_ ? test_ : train_;
  position.set_integer("file_position", replay.loaded() ? replay.position() : 0);
}

void FileTask::resume(const InputSettings& settings, const TaskPosition& position) {
  test_active_ = is_test_source(settings);
  active().resume(position.integer("file_position"));
}

// The file's own spikes, as replayed from its step 0 (a continued phase may start anywhere in
// it: one more repetition at most).
std::optional<double> FileTask::spikes_in_phase(const InputSettings& settings, std::int64_t steps,
                                                bool continues) const {
  const InputFile* file = replay(settings).file();
  if (file == nullptr) return std::nullopt;
  return continues ? static_cast<double>(steps / file->n_steps + 1) *
                         static_cast<double>(file->spike_step.size())
                   : static_cast<double>(file->spikes_in_first(steps));
}

// --- The file task's sources ---------------------------------------------------------------

std::vector<InputSettings> input_file_sources(const Config& config) {
  std::vector<InputSettings> sources;
  for (const Phase& phase : config.protocol) {
    const InputSettings settings = config.input_settings(phase);
    if (settings.task != "file") continue;
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
                               const std::vector<LoadedInputFile>& files) {
  const TaskContext context{config, rng, files};
  for (const auto& [name, entry] : input_tasks().entries())
    if (entry.in_every_run || config.uses_task(name))
      tasks_.emplace_back(name, entry.make(context));
}

InputTask& InputGenerator::find(const std::string& name) const {
  for (const auto& [task_name, task] : tasks_)
    if (task_name == name) return *task;
  throw std::logic_error("seqlearn: the input task '" + name + "' is not built in this run");
}

void InputGenerator::start_phase(const InputSettings& settings) {
  task_ = settings.task;
  current_ = &find(task_);
  current_->start_phase(settings);
}

InputGenerator::State InputGenerator::state() const {
  State state;
  state.task = task_;
  for (const auto& [name, task] : tasks_) task->save(state.position);
  return state;
}

void InputGenerator::carry_over(const State& state) {
  for (const auto& [name, task] : tasks_) task->carry_over(state.position);
}

void InputGenerator::resume(const InputSettings& settings, const State& state) {
  carry_over(state);
  if (state.task != settings.task) {
    start_phase(settings);
    return;
  }
  task_ = settings.task;
  current_ = &find(task_);
  current_->resume(settings, state.position);
}

std::optional<double> InputGenerator::spikes_in_phase(const InputSettings& settings,
                                                      std::int64_t steps, bool continues) const {
  for (const auto& [name, task] : tasks_)
    if (name == settings.task) return task->spikes_in_phase(settings, steps, continues);
  return std::nullopt;
}

// --- The built-in tasks' entries -----------------------------------------------------------

namespace {

using options::KeySpec;
using enum options::Type;
using enum options::Restore;

constexpr double kIntMax = std::numeric_limits<int>::max();

// The frozen patterns (spike times) and the presentation buffer, sized when a pattern starts
// (after the first noise phase).
std::vector<MemoryPart> pattern_memory(const Config& config) {
  double longest_pattern = 0, pattern_spikes = 0;
  for (const double t : config.t_pattern_ms) {
    longest_pattern = std::max(longest_pattern, t);
    pattern_spikes += config.n_inputs * config.train_input.r_input_hz * t * 1e-3;
  }
  const double warp = std::max({1.0, config.train_input.warp_max, config.test_input.warp_max});
  const bool presents =
      static_cast<double>(config.total_steps()) * config.dt_ms >
      std::min(config.train_input.t_noise_min_ms, config.test_input.t_noise_min_ms);
  const double presentation = presents ? warp * longest_pattern / config.dt_ms * 24.0 : 0.0;
  return {{pattern_spikes * 8.0 + presentation, "input.t_pattern",
           "the frozen input patterns and their presentation"}};
}

// The pattern task's keys are the [input] and [test] sections' own (config.hpp: InputSettings).
// Its position: the generator-event counter, whether a pattern (or noise) is being presented,
// whether the phase's first sequence is still to come, the steps left in the presentation or
// noise and done in the pattern, the sequence and the position in it, the warp, and the pattern
// being presented (-1 in noise). In every checkpoint since the first version: required.
TaskEntry pattern_task_entry() {
  const std::optional<double> required = std::nullopt;
  return {.help = "noise phases and sequences of frozen patterns (docs/model.md 5)",
          .make = [](const TaskContext& context) -> std::unique_ptr<InputTask> {
            return std::make_unique<PatternTask>(context.config, context.rng);
          },
          .position = {{.name = "event",
                        .high = static_cast<double>(std::numeric_limits<std::int64_t>::max()),
                        .when_absent = required},
                       {.name = "in_pattern", .high = 1, .when_absent = required},
                       {.name = "first_sequence", .high = 1, .when_absent = required},
                       {.name = "remaining", .high = kMaxCheckpointStep, .when_absent = required},
                       {.name = "position", .high = kMaxCheckpointStep, .when_absent = required},
                       {.name = "sequence", .low = -1, .high = kIntMax, .when_absent = required},
                       {.name = "sequence_position", .high = kIntMax, .when_absent = required},
                       {.name = "warp", .real = true, .high = 1000, .when_absent = required},
                       {.name = "pattern", .low = -1, .high = kIntMax, .when_absent = required}},
          .memory = pattern_memory,
          .in_every_run = true};
}

constexpr KeySpec kXorKeys[] = {
    // clang-format off
    {"input.t_pattern_xor",      real,      "(0, 1e9]",       "50",       "ms",     fixed,
     "xor task: length of a window and of its four frozen patterns (two per half of the "
     "channels)", "a multiple of neuron.dt"},
    // clang-format on
};

void check_xor_keys(const Config& config) {
  steps_option(config, "input.t_pattern_xor");
  if (config.uses_task("xor") && config.n_inputs < 2)
    invalid_value("network.n_inputs", std::to_string(config.n_inputs),
                  "at least 2 input channels: a phase of run.protocol runs the xor task, which "
                  "splits the channels into two halves");
}

// Four frozen patterns: their spike times, and per window step the offsets of their channels
// (CSR); building them holds (step, channel) pairs as well.
std::vector<MemoryPart> xor_memory(const Config& config) {
  if (!config.uses_task("xor")) return {};
  const double window_ms = real_option(config, "input.t_pattern_xor");
  const double spikes = config.n_inputs * config.train_input.r_input_hz * window_ms * 1e-3 * 2.0;
  return {{spikes * 28.0 + 4.0 * window_ms / config.dt_ms * 4.0, "input.t_pattern_xor",
           "the xor task's four frozen patterns"}};
}

// Its position: the step within the window (the window's length: a new one starts next) and the
// two halves' ids (-1 before the phase's first window).
TaskEntry xor_task_entry() {
  return {.help =
              "two halves of the channels, each showing one of two short frozen patterns "
              "per window (docs/model.md 11.2)",
          .make = [](const TaskContext& context) -> std::unique_ptr<InputTask> {
            return std::make_unique<XorTask>(context.config, context.rng);
          },
          .options = {std::begin(kXorKeys), std::end(kXorKeys)},
          .position = {{.name = "xor_position", .high = kMaxCheckpointStep},
                       {.name = "xor_id_1", .low = -1, .high = 1, .when_absent = -1.0},
                       {.name = "xor_id_2", .low = -1, .high = 1, .when_absent = -1.0}},
          .check = check_xor_keys,
          .memory = xor_memory,
          .in_every_run = true};
}

// The file task's keys (input.file, test.file, their label files) are the table's own: they
// name the sources that the I/O library loads before the generator is built. Its memory: the
// loaded file (src/estimates.cpp, which can measure the file). Its position: the file's step
// that comes next.
TaskEntry file_task_entry() {
  return {.help =
              "the spikes and labels of input.file (test.file), replayed cyclically "
              "(docs/model.md 11.2)",
          .make = [](const TaskContext& context) -> std::unique_ptr<InputTask> {
            return std::make_unique<FileTask>(context.config, context.files);
          },
          .position = {{.name = "file_position", .high = kMaxCheckpointStep}},
          .in_every_run = true};
}

}  // namespace

Registry<TaskEntry>& input_tasks() {
  static Registry<TaskEntry> tasks = [] {
    Registry<TaskEntry> built_in;
    built_in.add("pattern", pattern_task_entry());
    built_in.add("xor", xor_task_entry());
    built_in.add("file", file_task_entry());
    built_in.add("multi", multi_task_entry());
    return built_in;
  }();
  return tasks;
}

}  // namespace seqlearn
