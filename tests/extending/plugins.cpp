// docs/extending.md's worked examples, compiled into seqlearn_extended (the program with them):
// a plasticity rule, an input task, and recorded quantities of a neuron and of a synapse defined
// outside src/ and
// registered through the public registries. tests/extending/extending.sh runs them through the
// engine.
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <vector>

#include "seqlearn/input_task.hpp"
#include "seqlearn/kernels.hpp"
#include "seqlearn/plasticity.hpp"
#include "seqlearn/recordables.hpp"

namespace example {

// A rule: M8-M9 with one learning rate for the whole row that falls as 1/sqrt(N_train), between
// constant (M7'') and inverse_time (M7').
class InverseSqrtTime : public seqlearn::PlasticityRule {
 public:
  void update_row(const seqlearn::RowUpdate& row) const override {
    const double rate = row.eta / std::sqrt(static_cast<double>(row.learning_steps));
    seqlearn::kernels::weight_step_row(row.weight, row.epsp, row.source, row.length, rate);
  }
};

// One line registers it: plasticity.schedule = inverse_sqrt_time.
const bool rule_registered = seqlearn::plasticity_rules().add(
    "inverse_sqrt_time",
    {"eta / sqrt(N_train), M8-M9 (docs/extending.md)",
     [](const seqlearn::Config&) { return std::make_unique<InverseSqrtTime>(); }});

// An input task: every channel fires as a Poisson process whose rate follows a sine wave over
// the phase, r(t) = input.wave_rate (1 + sin(2 pi t / input.wave_period)), t counted from the
// phase's first step. A step's label (stream 1) is the quarter of the period it falls in.
class WaveTask : public seqlearn::InputTask {
 public:
  WaveTask(const seqlearn::Config& config, const seqlearn::CounterRng& rng)
      : rng_(rng),
        channels_(static_cast<std::uint32_t>(config.n_inputs)),
        period_(seqlearn::steps_option(config, "input.wave_period")),
        rate_hz_(seqlearn::real_option(config, "input.wave_rate")),
        dt_s_(config.dt_s()) {}

  void start_phase(const seqlearn::InputSettings&) override {
    position_ = 0;
    label_ = -1;
  }

  void generate(std::int64_t step, seqlearn::InputStep& out) override {
    const double rate = rate_at(position_);
    const double p_spike = 1.0 - std::exp(-rate * dt_s_);
    out.channels.clear();
    out.from_pattern.clear();
    for (std::uint32_t c = 0; c < channels_; ++c)
      if (rng_.uniform(kSpike, c, static_cast<std::uint64_t>(step)) < p_spike) {
        out.channels.push_back(c);
        out.from_pattern.push_back(0);
      }
    out.pattern_id = quarter_of(position_);
    out.pattern_id_2 = out.sequence_id = -1;
    // Its targets: the rate at the first step of each quarter (/input/wave_rate). A restored
    // phase repeats the current quarter's at its first step (label_ = -1 after resume).
    out.targets_new = out.pattern_id != label_;
    if (out.targets_new) {
      std::int64_t first = position_;
      while (first % period_ > 0 && quarter_of(first - 1) == out.pattern_id) --first;
      rate_[0] = rate_at(first);
    }
    label_ = out.pattern_id;
    ++position_;
  }
  const std::vector<double>& targets() const override { return rate_; }

  // Its position is the step within the phase: checkpointed as generator_wave_position.
  void save(seqlearn::TaskPosition& position) const override {
    position.set_integer("wave_position", position_);
  }
  void resume(const seqlearn::InputSettings&, const seqlearn::TaskPosition& position) override {
    position_ = position.integer("wave_position");
    label_ = -1;  // the restored step repeats its quarter's targets
  }

 private:
  double cycle_of(std::int64_t position) const {
    return static_cast<double>(position % period_) / static_cast<double>(period_);
  }
  int quarter_of(std::int64_t position) const { return static_cast<int>(4.0 * cycle_of(position)); }
  double rate_at(std::int64_t position) const {
    return rate_hz_ * (1.0 + std::sin(2.0 * std::numbers::pi * cycle_of(position)));
  }

  // Keyed by (channel, step): the same spikes on every rank, and after a restore.
  static constexpr seqlearn::Purpose kSpike = seqlearn::plugin_purpose(0);
  seqlearn::CounterRng rng_;
  std::uint32_t channels_;
  std::int64_t period_;  // steps
  double rate_hz_;
  double dt_s_;
  std::int64_t position_ = 0;  // steps since the phase began
  int label_ = -1;             // the last step's quarter
  std::vector<double> rate_ = {0.0};
};

// One line registers it, with its keys and its checkpoint field: input.task = wave, or
// run.protocol test:MS:wave.
using enum seqlearn::options::Type;
using enum seqlearn::options::Restore;
const bool task_registered = seqlearn::input_tasks().add(
    "wave",
    {.help = "Poisson channels at a rate that follows a sine wave (docs/extending.md)",
     .make = [](const seqlearn::TaskContext& context) -> std::unique_ptr<seqlearn::InputTask> {
       return std::make_unique<WaveTask>(context.config, context.rng);
     },
     .options = {{"input.wave_period", real, "(0, 1e9]", "200", "ms", may_change,
                  "wave task: period of the rate", "a multiple of neuron.dt"},
                 {"input.wave_rate", real, "[0, 1e4]", "20", "Hz", may_change,
                  "wave task: mean rate of every channel"}},
     .position = {{.name = "wave_position", .high = seqlearn::kMaxCheckpointStep}},
     .check =
         [](const seqlearn::Config& config) {
           seqlearn::steps_option(config, "input.wave_period");
         },
     .targets =
         seqlearn::TaskTargets{.name = "wave_rate",
                               .unit = "Hz",
                               .width = [](const seqlearn::Config&) { return std::uint64_t{1}; }}});

// A recorded quantity: the event-driven part of u_k (M2 without the bias), sampled with the
// other traces into /traces/input_drive.
const bool quantity_registered = seqlearn::neuron_quantities().add(
    "input_drive", {"1", "sum_j w_kj (e_j - ê_j): u_k less its bias (M2)",
                    [](const seqlearn::NeuronState& n, std::uint64_t k) {
                      return n.weighted_decay[k] - n.weighted_rise[k];
                    }});

// A recorded synapse quantity: the linear efficacy e^{w_kj} of a traced neuron's synapse (w_kj
// is a log-weight, M2), sampled with the weights into /traces/efficacy.
const bool synapse_quantity_registered = seqlearn::synapse_quantities().add(
    "efficacy",
    {"1", "e^{w_kj}: the linear efficacy of the log-weight w_kj (M2)",
     [](const seqlearn::SynapseRows& s, std::uint64_t i) { return std::exp(s.weight[i]); }});

// A spike quantity: the membrane potential a neuron spiked from, one value per spike in
// /spikes/u_at_spike.
const bool spike_quantity_registered = seqlearn::spike_quantities().add(
    "u_at_spike", {"1", "u_k at the step of each spike (M2)",
                   [](const seqlearn::NeuronState& n, std::uint64_t k) { return n.potential[k]; }});

// An input label: how many input channels spiked at each step, in /input/active_channels beside
// the built-in labels (every task's steps have it).
const bool label_registered = seqlearn::input_labels().add(
    "active_channels", {"input channels that spiked at the step", 1,
                        [](const seqlearn::InputStep& in, std::int32_t* row) {
                          row[0] = static_cast<std::int32_t>(in.channels.size());
                        }});

}  // namespace example
