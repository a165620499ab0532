#include "seqlearn/task_multi.hpp"

#include <algorithm>
#include <cmath>

#include "seqlearn/input.hpp"

namespace seqlearn {

MultiTask::MultiTask(const Config& config, const CounterRng& rng)
    : config_(config),
      rng_(rng),
      window_(std::max<std::int64_t>(1, config.multi_window_steps())),
      groups_(std::max(1, config.multi_groups)) {
  group_size_ = static_cast<std::uint32_t>(std::max(0, config.n_inputs) / groups_);
  rates_.assign(static_cast<std::size_t>(groups_), 0.0);
  p_spike_.assign(static_cast<std::size_t>(groups_), 0.0);
  uniforms_.resize(static_cast<std::size_t>(group_size_) * static_cast<std::size_t>(groups_));
  position_ = window_;
}

void MultiTask::start_phase() {
  position_ = window_;  // the first step starts the first window
  rates_known_ = false;
}

void MultiTask::save(InputState& state) const { state.multi_position = position_; }

void MultiTask::resume(const InputState& state) {
  if (state.multi_position < 0 || state.multi_position > window_) {
    start_phase();  // not a position of this task's windows: the phase starts afresh
    return;
  }
  position_ = state.multi_position;
  rates_known_ = false;
}

void MultiTask::draw_rates(std::int64_t window_start) {
  const double lo = config_.multi_rate_min_hz, hi = config_.multi_rate_max_hz;
  for (int g = 0; g < groups_; ++g) {
    const double u = rng_.uniform(Purpose::multi_rate, static_cast<std::uint64_t>(window_start),
                                  static_cast<std::uint64_t>(g));
    const auto k = static_cast<std::size_t>(g);
    rates_[k] = lo + (hi - lo) * u;
    p_spike_[k] = 1.0 - std::exp(-rates_[k] * config_.dt_s());
  }
  rates_known_ = true;
}

void MultiTask::generate(std::int64_t step, InputStep& out) {
  out.pattern_id = out.pattern_id_2 = out.sequence_id = -1;
  out.channels.clear();
  out.from_pattern.clear();
  out.rates_new = false;
  if (position_ >= window_) {
    position_ = 0;
    draw_rates(step);
    out.rates_new = true;
  } else if (!rates_known_) {
    draw_rates(step - position_);  // a restored phase: the window began before this step
    out.rates_new = true;
  }
  const std::size_t n = uniforms_.size();
  if (n > 0) {
    rng_.uniforms(Purpose::multi_spike, 0, n, static_cast<std::uint64_t>(step), uniforms_.data());
    // Group by group (no division per channel), branch-free: every channel is written and the
    // end advances only past those that spike; channels ascending.
    out.channels.resize(n);
    std::uint32_t* dst = out.channels.data();
    std::size_t spikes = 0;
    std::uint32_t c = 0;
    for (std::size_t g = 0; g < p_spike_.size(); ++g) {
      const double p = p_spike_[g];
      for (const std::uint32_t end = c + group_size_; c < end; ++c) {
        dst[spikes] = c;
        spikes += uniforms_[c] < p ? 1 : 0;
      }
    }
    out.channels.resize(spikes);
    out.from_pattern.assign(spikes, 0);
  }
  ++position_;
}

}  // namespace seqlearn
