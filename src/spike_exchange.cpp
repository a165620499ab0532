#include "seqlearn/spike_exchange.hpp"

#include <string>

#include "seqlearn/scoped_timer.hpp"

namespace seqlearn {

void SpikeExchange::note_divergence(std::int64_t step, std::uint64_t neuron) {
  const std::lock_guard<std::mutex> lock(divergence_mutex_);
  const Divergence d{step, neuron};
  if (!divergence_ || d < *divergence_) divergence_ = d;
}

const ReceivedExchange& SpikeExchange::exchange(std::int64_t interval_steps, double& wall_s,
                                                double& cpu_s) {
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
    const ScopedTimer exchange_time(wall_s);
    std::optional<ScopedCpuTimer> exchange_cpu;
    if (comm_.size() > 1) exchange_cpu.emplace(cpu_s);
    comm_.all_gather(outgoing_, incoming_);
    outgoing_.clear();
  }
  receive_exchange(incoming_, interval_steps, received_);
  stop_agreed_ = stop_agreed_ || received_.stop;
  if (received_.divergence)
    throw DivergenceError("the dynamics diverged at step " +
                          std::to_string(received_.divergence->step) + ": neuron " +
                          std::to_string(received_.divergence->neuron) +
                          " has a non-finite potential, rate or weight (nothing was written); "
                          "lower plasticity.learning_rate or the input rates");
  return received_;
}

}  // namespace seqlearn
