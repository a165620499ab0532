#include "seqlearn/input.hpp"

#include <algorithm>
#include <cmath>

namespace seqlearn {

InputGenerator::InputGenerator(const Config& config, const CounterRng& rng)
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

void InputGenerator::start_phase(const InputSettings& settings) {
  settings_ = settings;
  first_sequence_ = true;
  sequence_ = -1;
  begin_noise();
}

// Noise phase of round_down(T/dt) steps, T ~ U(t_noise_range).
void InputGenerator::begin_noise() {
  in_pattern_ = false;
  const double t_ms = settings_.t_noise_min_ms +
                      (settings_.t_noise_max_ms - settings_.t_noise_min_ms) * event_uniform();
  ++event_;
  remaining_ = static_cast<std::int64_t>(std::floor(t_ms / config_.dt_ms));
}

int InputGenerator::next_sequence() {
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

void InputGenerator::begin_sequence() {
  sequence_ = next_sequence();
  first_sequence_ = false;
  warp_ = settings_.warp_min + (settings_.warp_max - settings_.warp_min) * event_uniform();
  ++event_;
  sequence_position_ = 0;
  begin_pattern();
}

// A pattern lasts floor(warp*T/dt) steps; a spike at t maps to step floor(warp*t/dt), and
// several spikes of one channel in one step count once.
void InputGenerator::begin_pattern() {
  in_pattern_ = true;
  position_ = 0;
  build_presentation();
  remaining_ = static_cast<std::int64_t>(presentation_.size());
}

void InputGenerator::build_presentation() {
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

InputGenerator::State InputGenerator::state() const {
  return {event_,
          in_pattern_,
          first_sequence_,
          remaining_,
          position_,
          sequence_,
          static_cast<std::int64_t>(sequence_position_),
          warp_,
          in_pattern_ ? config_.sequences[static_cast<std::size_t>(sequence_)][sequence_position_]
                      : -1};
}

void InputGenerator::resume(const InputSettings& settings, const State& state) {
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
    bool same = known_sequence && state.sequence_position >= 0 &&
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

void InputGenerator::generate(std::int64_t step, InputStep& out) {
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
  if (!in_pattern_) {
    out.pattern_id = -1;
    out.sequence_id = -1;
    if (settings_.use_noise && settings_.r_input_hz > 0) {
      const double p_spike = 1.0 - std::exp(-settings_.r_input_hz * dt_s);
      for (std::uint32_t c = 0; c < n_inputs; ++c) {
        if (rng_.uniform(Purpose::input_noise, c, u_step) < p_spike) {
          out.channels.push_back(c);
          out.from_pattern.push_back(0);
        }
      }
    }
  } else {
    out.pattern_id = config_.sequences[static_cast<std::size_t>(sequence_)][sequence_position_];
    out.sequence_id = sequence_;
    const auto& from_pattern = presentation_[static_cast<std::size_t>(position_)];
    const bool overlay = settings_.use_noise && settings_.r_noise_hz > 0;
    const double p_noise = 1.0 - std::exp(-settings_.r_noise_hz * dt_s);
    std::size_t next = 0;
    for (std::uint32_t c = 0; c < n_inputs; ++c) {
      const bool pattern_spike = next < from_pattern.size() && from_pattern[next] == c;
      if (pattern_spike) ++next;
      const bool noise_spike = overlay && rng_.uniform(Purpose::overlay_noise, c, u_step) < p_noise;
      if (pattern_spike || noise_spike) {
        out.channels.push_back(c);
        out.from_pattern.push_back(pattern_spike ? 1 : 0);
      }
    }
    ++position_;
  }
  --remaining_;
}

}  // namespace seqlearn
