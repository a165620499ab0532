// The model's arithmetic, one function per equation group of docs/model.md, used by the
// simulator's hot loops and checked one by one against hand-computed values in
// tests/test_kernels.cpp. Expressions are written exactly as docs/model.md states them (the
// build disables FMA contraction), so that results are bit-reproducible.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace seqlearn::kernels {

// e^x for the model's arithmetic. Built from +, -, * and bit operations only, so that it
// gives the same bits in a scalar loop and in every SIMD lane: the compiler can vectorise the
// STDP loop over a row (libm's exp is a call it cannot), and the result does not depend on how
// a row is split between lanes, threads or ranks (DESIGN principle 1). Method: x = k ln2 + r
// with |r| <= ln2/2 (Cody-Waite: ln2 in two parts, the first exact when multiplied by k),
// e^r by its Taylor polynomial of degree 13 (truncation error < 5e-18), times 2^k in two
// exact halves so that a subnormal result rounds once. Below -746 the result is 0, above 710
// it is inf, NaN stays NaN. Error against glibc's exp: at most 1 ulp over [-745, 709]
// (measured on 10^7 points and at the range ends, tests/test_kernels.cpp KernelExp).
inline double exp(double x) {
  constexpr double kLog2e = 0x1.71547652b82fep0;
  constexpr double kLn2Hi = 0x1.62e42fee00000p-1;   // 32 significant bits: k * kLn2Hi is exact
  constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;  // ln2 - kLn2Hi
  constexpr double kRound = 0x1.8p52;               // adding it rounds to an integer
  x = x < -746.0 ? -746.0 : x;
  x = x > 710.0 ? 710.0 : x;
  const double k = (x * kLog2e + kRound) - kRound;  // nearest integer to x / ln2
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^k = 2^k1 * 2^k2 with |k1|, |k2| <= 538: both are normal numbers. The exponent field of
  // 2^j is the low 11 bits of the integer j + 1023, read off the mantissa of j + 1023 + kRound.
  const double k1 = (k * 0.5 + kRound) - kRound;
  const double k2 = k - k1;
  const double scale1 =
      std::bit_cast<double>(std::bit_cast<std::uint64_t>(k1 + (kRound + 1023.0)) << 52);
  const double scale2 =
      std::bit_cast<double>(std::bit_cast<std::uint64_t>(k2 + (kRound + 1023.0)) << 52);
  return p * scale1 * scale2;
}

// M1: the unweighted EPSP of a source.
inline double epsp(double trace_decay, double trace_rise) {
  return trace_decay - trace_rise;
}

// M6, Euler step of one trace: e <- e (1 - dt/tau) + s R u.
inline double trace_step(double trace, double factor, double amplitude) {
  return trace * factor + amplitude;
}

// M3 (with M2's potentials given): softmax within a circuit, shifted by the maximum.
inline void softmax(const double* potential, double* rate_fraction, std::size_t size) {
  double max_potential = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < size; ++k) max_potential = std::max(max_potential, potential[k]);
  double normaliser = 0;
  for (std::size_t k = 0; k < size; ++k) {
    rate_fraction[k] = kernels::exp(potential[k] - max_potential);
    normaliser += rate_fraction[k];
  }
  for (std::size_t k = 0; k < size; ++k) rate_fraction[k] /= normaliser;
}

// M4-M5: probability that a neuron with rate fraction p spikes in one step.
inline double spike_probability(double r_max_hz, double rate_fraction, double dt_s) {
  return 1.0 - kernels::exp(-(r_max_hz * rate_fraction) * dt_s);
}

// M7: the variance-tracking learning rate of a synapse.
inline double variance_tracking_rate(double eta, double mean, double second_moment) {
  return eta * (second_moment - mean * mean) / (kernels::exp(-mean) + 1.0);
}

// M8-M9: one weight update with learning rate `rate`; returns the new weight.
inline double weight_step(double weight, double epsp, double rate) {
  const double exp_w = kernels::exp(weight);
  const double delta = (epsp - exp_w) / std::max(exp_w, rate);  // M8
  return weight + rate * delta;                                 // M9
}

// M7-M11 under variance tracking, on one synapse.
inline void stdp_variance_tracking(double& weight, double& mean, double& second_moment, double epsp,
                                   double eta) {
  const double rate = variance_tracking_rate(eta, mean, second_moment);      // M7
  weight = weight_step(weight, epsp, rate);                                  // M8-M9
  mean = mean + rate * (weight - mean);                                      // M10
  second_moment = second_moment + rate * (weight * weight - second_moment);  // M11
}

// M12-M13: STP state after a spike, with the ISI of M14 (seconds). M12 uses the old u.
inline void stp_after_spike(double& R, double& u, double U, double D_s, double F_s, double isi_s) {
  R = 1.0 + (R - u * R - 1.0) * kernels::exp(-isi_s / D_s);  // M12
  u = U + u * (1.0 - U) * kernels::exp(-isi_s / F_s);        // M13
}

}  // namespace seqlearn::kernels
