// Counter-based random numbers (docs/design.md principle 1).
//
// Every random number of a run is a pure function of (master seed, purpose, entity, counter):
// Philox4x32-10 from Random123 with key = (seed, purpose) and counter = (entity, counter).
// No generator state exists, so results cannot depend on ranks, threads or the order in
// which entities are visited, and a checkpoint needs no RNG state at all.
#pragma once

#include <Random123/philox.h>

#include <Random123/uniform.hpp>
#include <bit>
#include <cmath>
#include <cstddef>
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
  // docs/model.md 11.1:
  synapse_kept = 20,   // entity = postsynaptic neuron, counter = presynaptic neuron (p_conn)
  train_circuit = 21,  // entity = circuit                      (network.train_fraction)
  // xor task (docs/model.md 11.2):
  xor_pattern = 22,  // entity = (2 half + id) * 2^32 + channel, counter = spike number
  xor_switch = 23,   // entity = the window's first step, counter 0; which = half
  // multi task (docs/model.md 11.6):
  multi_rate = 24,   // entity = the window's first step, counter = group
  multi_spike = 25,  // entity = channel, counter = step
};

// The streams of plug-ins (docs/extending.md): plugin_purpose(0), plugin_purpose(1), ...; apart
// from every built-in purpose above.
constexpr Purpose plugin_purpose(std::uint32_t n) {
  return static_cast<Purpose>(1000 + n);
}

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

  // uniform(purpose, first + i, counter) for i < count, into out[i]: the same bits, computed
  // as one loop over the entities that the compiler vectorises (Philox4x32-10 written out
  // with 64-bit products; tests/test_rng.cpp checks it against Random123's). Every 32-bit
  // word is kept in a 64-bit lane (its high half zero, restored by the masks), so that the
  // products are 32 x 32 -> 64-bit multiplies of the lanes' low halves (vpmuludq), not full
  // 64-bit ones: 1.7x faster on AVX-512.
  void uniforms(Purpose purpose, std::uint64_t first, std::size_t count, std::uint64_t counter,
                double* __restrict out) const {
    constexpr std::uint64_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;  // Philox multipliers
    constexpr std::uint64_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;  // Weyl key increments
    constexpr std::uint64_t kLow = 0xFFFFFFFF;
    const std::uint64_t counter_lo = counter & kLow;
    const std::uint64_t counter_hi = counter >> 32;
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t entity = first + i;
      std::uint64_t c0 = entity & kLow, c1 = entity >> 32;
      std::uint64_t c2 = counter_lo, c3 = counter_hi;
      std::uint64_t k0 = seed_, k1 = static_cast<std::uint32_t>(purpose);
      for (int round = 0; round < 10; ++round) {
        const std::uint64_t p0 = kM0 * (c0 & kLow);
        const std::uint64_t p1 = kM1 * (c2 & kLow);
        const std::uint64_t n0 = (p1 >> 32) ^ c1 ^ k0;
        const std::uint64_t n2 = (p0 >> 32) ^ c3 ^ k1;
        c1 = p1 & kLow;
        c3 = p0 & kLow;
        c0 = n0;
        c2 = n2;
        k0 = (k0 + kW0) & kLow;
        k1 = (k1 + kW1) & kLow;
      }
      // u01fixedpt<double>: (1 | (bits >> 11)) 2^-53 with bits = c0:c1, i.e. (2h + 1) 2^-53
      // with h = bits >> 12 < 2^52, converted exactly through the exponent of 2^52.
      const std::uint64_t h = ((c0 << 32) | c1) >> 12;
      const double h_value = std::bit_cast<double>(h | 0x4330000000000000ULL) - 0x1p52;
      out[i] = (h_value * 2.0 + 1.0) * 0x1p-53;
    }
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
