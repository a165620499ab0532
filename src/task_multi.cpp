#include "seqlearn/task_multi.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "seqlearn/input.hpp"

namespace seqlearn {

MultiTask::MultiTask(const Config& config, const CounterRng& rng)
    : config_(config),
      rng_(rng),
      window_(std::max<std::int64_t>(
          1, std::llround(real_option(config, "input.t_multi_window") / config.dt_ms))),
      groups_(std::max(1, static_cast<int>(integer_option(config, "input.multi_groups")))) {
  std::tie(rate_min_hz_, rate_max_hz_) = real_pair_option(config, "input.multi_rate_range");
  group_size_ = static_cast<std::uint32_t>(std::max(0, config.n_inputs) / groups_);
  rates_.assign(static_cast<std::size_t>(groups_), 0.0);
  p_spike_.assign(static_cast<std::size_t>(groups_), 0.0);
  uniforms_.resize(static_cast<std::size_t>(group_size_) * static_cast<std::size_t>(groups_));
  position_ = window_;
}

void MultiTask::start_phase(const InputSettings&) {
  position_ = window_;  // the first step starts the first window
  rates_known_ = false;
}

void MultiTask::save(TaskPosition& position) const {
  position.set_integer("multi_position", position_);
}

void MultiTask::resume(const InputSettings& settings, const TaskPosition& position) {
  const std::int64_t at = position.integer("multi_position");
  if (at < 0 || at > window_) {
    start_phase(settings);  // not a position of this task's windows: the phase starts afresh
    return;
  }
  position_ = at;
  rates_known_ = false;
}

void MultiTask::draw_rates(std::int64_t window_start) {
  const double lo = rate_min_hz_, hi = rate_max_hz_;
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
  out.targets_new = false;
  if (position_ >= window_) {
    position_ = 0;
    draw_rates(step);
    out.targets_new = true;
  } else if (!rates_known_) {
    draw_rates(step - position_);  // a restored phase: the window began before this step
    out.targets_new = true;
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

namespace {

using options::KeySpec;
using enum options::Type;
using enum options::Restore;

constexpr KeySpec kMultiKeys[] = {
    // clang-format off
    {"input.multi_groups",       integer,   "[1, 1000000]",   "2",        "",       fixed,
     "multi task: groups of consecutive channels, each at its own rate (docs/model.md 11.6)",
     "<= network.n_inputs"},
    {"input.multi_rate_range",   real_pair, "[0, 1e4]",       "10,80",    "Hz",     fixed,
     "multi task: range MIN,MAX of a group's rate, drawn anew every input.t_multi_window"},
    {"input.t_multi_window",     real,      "(0, 1e9]",       "100",      "ms",     fixed,
     "multi task: how long the groups' rates stay constant", "a multiple of neuron.dt"},
    // clang-format on
};

void check_multi_keys(const Config& config) {
  steps_option(config, "input.t_multi_window");
  const std::int64_t groups = integer_option(config, "input.multi_groups");
  if (config.uses_task("multi") && groups > config.n_inputs)
    invalid_value("input.multi_groups", std::to_string(groups),
                  "at most network.n_inputs (" + std::to_string(config.n_inputs) +
                      ") groups: a phase of run.protocol runs the multi task, which needs at "
                      "least one channel per group");
}

}  // namespace

// Its position: the step within the window (the window's length: a new one starts next).
TaskEntry multi_task_entry() {
  return {.help = "groups of channels at rates drawn anew every window (docs/model.md 11.6)",
          .make = [](const TaskContext& context) -> std::unique_ptr<InputTask> {
            return std::make_unique<MultiTask>(context.config, context.rng);
          },
          .options = {std::begin(kMultiKeys), std::end(kMultiKeys)},
          .position = {{.name = "multi_position", .low = 0, .high = kMaxCheckpointStep}},
          .check = check_multi_keys,
          .targets = TaskTargets{.name = "rate", .unit = "Hz", .width = [](const Config& config) {
                                   return static_cast<std::uint64_t>(
                                       integer_option(config, "input.multi_groups"));
                                 }}};
}

}  // namespace seqlearn
