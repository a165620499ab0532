// The `multi` input task (docs/model.md 11.6): rate-modulated groups of input channels.
//
// The channels [0, G * (n / G)) form G = input.multi_groups groups of n / G consecutive
// channels (channels beyond the last whole group stay silent). Windows of
// input.t_multi_window follow back to back from a phase's first step; at the first step s of
// every window each group g draws its rate uniformly from input.multi_rate_range
// (uniform (Purpose::multi_rate, s, 0, g)). In each step every channel of a group spikes
// independently with probability 1 - exp(-rate dt) (uniform (Purpose::multi_spike, channel,
// step)). No noise, no patterns: the labels of the step are -1; the rates are the task's
// targets, recorded at every window start (docs/output.md /input/rate).
//
// One file for the whole task: the class, its keys (input.multi_groups, input.multi_rate_range,
// input.t_multi_window), its checkpoint field generator_multi_position and its registry entry.
// Its entry names its targets, the rates, which the simulator records (/input/rate).
#pragma once

#include <cstdint>
#include <vector>

#include "seqlearn/config.hpp"
#include "seqlearn/input_task.hpp"
#include "seqlearn/rng.hpp"

namespace seqlearn {

class MultiTask : public InputTask {
 public:
  MultiTask(const Config& config, const CounterRng& rng);
  void start_phase(const InputSettings& settings) override;
  void save(TaskPosition& position) const override;
  // Continues a checkpointed phase at its position within the window; the window's rates are
  // drawn again (they are keyed by the window's first step) at the next step and reported as
  // new there, so a restored run's file holds the rates of its first steps too.
  void resume(const InputSettings& settings, const TaskPosition& position) override;
  void generate(std::int64_t step, InputStep& out) override;
  std::int64_t window_steps() const { return window_; }
  int groups() const { return groups_; }
  // Its targets (/input/rate): the rates (Hz) of the current window, one per group.
  const std::vector<double>& targets() const override { return rates_; }

 private:
  void draw_rates(std::int64_t window_start);

  const Config& config_;
  double rate_min_hz_ = 0;  // input.multi_rate_range
  double rate_max_hz_ = 0;
  CounterRng rng_;
  std::int64_t window_ = 1;  // steps per window
  int groups_ = 1;
  std::uint32_t group_size_ = 0;
  std::int64_t position_ = 0;     // step within the window; == window_: a new one starts
  bool rates_known_ = false;      // false after resume: drawn at the next step
  std::vector<double> rates_;     // per group, Hz
  std::vector<double> p_spike_;   // per group, 1 - exp(-rate dt)
  std::vector<double> uniforms_;  // per channel, this step's draws
};

// The registry entry of the `multi` task (input_tasks(), src/input.cpp).
TaskEntry multi_task_entry();

}  // namespace seqlearn
