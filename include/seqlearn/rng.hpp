// Counter-based random numbers (docs/design.md principle 1).
//
// Every random number of a run is a pure function of (master seed, purpose, entity, counter):
// Philox4x32-10 from Random123 with key = (seed, purpose) and counter = (entity, counter).
// No generator state exists, so results cannot depend on ranks, threads or the order in
// which entities are visited, and a checkpoint needs no RNG state at all.
#pragma once

#include <Random123/philox.h>

#include <Random123/uniform.hpp>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace seqlearn {

// One stream per use; never reorder or reuse the values (that would change every result).
enum class Purpose : std::uint32_t {
  circuit_size = 1,    // entity = circuit                      (docs/model.md 1)
  km2013_draw = 2,     // entity = draw number                  (docs/model.md 1, rule km2013)
  indegree_draw = 3,   // entity = target circuit, counter = try (docs/model.md 1, fixed_indegree)
  stp_parameters = 4,  // entity = source id                    (docs/model.md 2)
  initial_weight = 5,  // entity = postsynaptic neuron, counter = row position (docs/model.md 4.6)
  neuron_spike = 6,    // entity = neuron, counter = step       (M5)
  input_noise = 7,     // entity = channel, counter = step      (docs/model.md 5)
  overlay_noise = 8,   // entity = channel, counter = step      (docs/model.md 5)
  frozen_pattern = 9,  // entity = pattern * 2^32 + channel, counter = spike number
  generator = 10,      // entity = generator event number        (phase lengths, switching, warp)
  record_sample = 11,  // entity = sample number                (record.neurons = random:K)
};

class CounterRng {
 public:
  explicit CounterRng(std::uint32_t seed) : seed_(seed) {}

  // Four independent 32-bit words for (purpose, entity, counter).
  r123::Philox4x32::ctr_type words(Purpose purpose, std::uint64_t entity,
                                   std::uint64_t counter) const {
    const r123::Philox4x32::key_type key = {{seed_, static_cast<std::uint32_t>(purpose)}};
    const r123::Philox4x32::ctr_type ctr = {
        {static_cast<std::uint32_t>(entity), static_cast<std::uint32_t>(entity >> 32),
         static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32)}};
    return r123::Philox4x32()(ctr, key);
  }

  // Uniform in the open interval (0, 1), 53 significant bits; `which` in {0, 1} picks one of
  // the two values a counter yields.
  double uniform(Purpose purpose, std::uint64_t entity, std::uint64_t counter,
                 int which = 0) const {
    const auto w = words(purpose, entity, counter);
    const std::uint64_t bits = (static_cast<std::uint64_t>(w[2 * which]) << 32) | w[2 * which + 1];
    return r123::u01fixedpt<double>(bits);
  }

  // Exponential with the given mean.
  double exponential(double mean, Purpose purpose, std::uint64_t entity,
                     std::uint64_t counter) const {
    return -mean * std::log(uniform(purpose, entity, counter));
  }

  // Standard normal by Box-Muller from the counter's two uniforms.
  double normal(Purpose purpose, std::uint64_t entity, std::uint64_t counter) const {
    const double u1 = uniform(purpose, entity, counter, 0);
    const double u2 = uniform(purpose, entity, counter, 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  // Uniform integer in [low, high].
  std::int64_t uniform_int(std::int64_t low, std::int64_t high, Purpose purpose,
                           std::uint64_t entity, std::uint64_t counter) const {
    const auto span = static_cast<double>(high - low + 1);
    const auto offset = static_cast<std::int64_t>(uniform(purpose, entity, counter) * span);
    return low + (offset < high - low ? offset : high - low);
  }

  std::uint32_t seed() const { return seed_; }

 private:
  std::uint32_t seed_;
};

}  // namespace seqlearn
