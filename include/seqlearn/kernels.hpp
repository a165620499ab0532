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
// a row is split between lanes, threads or ranks (docs/design.md principle 1). Method: x = k ln2 +
// r with |r| <= ln2/2 (Cody-Waite: ln2 in two parts, the first exact when multiplied by k), e^r by
// its Taylor polynomial of degree 13 (truncation error < 5e-18), times 2^k in two exact halves so
// that a subnormal result rounds once. Below -746 the result is 0, above 710 it is inf, NaN stays
// NaN. Error against glibc's exp: at most 1 ulp over [-745, 709] (measured on 10^7 points and at
// the range ends, tests/test_kernels.cpp KernelExp).
inline double exp(double x) {
  constexpr double kLog2e = 0x1.71547652b82fep0;
  constexpr double kLn2Hi = 0x1.62e42fee00000p-1;   // 32 significant bits: k * kLn2Hi is exact
  constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;  // ln2 - kLn2Hi
  constexpr double kRound = 0x1.8p52;               // adding it rounds to an integer
  x = x < -746.0 ? -746.0 : x;
  x = x > 710.0 ? 710.0 : x;
  const double k = (x * kLog2e + kRound) - kRound;  // nearest integer to x / ln2
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  // e^r = 1 + (r + r^2 t(r)), t of degree 11 by Estrin's scheme (pairs, then r^2, r^4
  // weights): a short dependency chain, so vector lanes stay busy; the leading 1 + (...)
  // rounds once, which keeps 90 % of results exact.
  const double r2 = r * r;
  const double r4 = r2 * r2;
  const double a1 = 1.0 / 2 + r * (1.0 / 6);
  const double a2 = 1.0 / 24 + r * (1.0 / 120);
  const double a3 = 1.0 / 720 + r * (1.0 / 5040);
  const double a4 = 1.0 / 40320 + r * (1.0 / 362880);
  const double a5 = 1.0 / 3628800 + r * (1.0 / 39916800);
  const double a6 = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
  const double t = a1 + r2 * ((a2 + r2 * a3) + r4 * ((a4 + r2 * a5) + r4 * a6));
  const double p = 1.0 + (r + r2 * t);
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

// M3 for consecutive circuits at once: circuit c holds the neurons [bounds[c], bounds[c + 1])
// - bounds[0] of the arrays. The same arithmetic in the same order as softmax() circuit by
// circuit, arranged so that the exps of all circuits form one loop the compiler vectorises.
inline void softmax_circuits(const double* potential, double* rate_fraction,
                             const std::uint64_t* bounds, std::size_t n_circuits) {
  const std::uint64_t origin = bounds[0];
  for (std::size_t c = 0; c < n_circuits; ++c) {
    double max_potential = -std::numeric_limits<double>::infinity();
    for (auto k = bounds[c] - origin; k < bounds[c + 1] - origin; ++k)
      max_potential = std::max(max_potential, potential[k]);
    for (auto k = bounds[c] - origin; k < bounds[c + 1] - origin; ++k)
      rate_fraction[k] = potential[k] - max_potential;
  }
  const std::uint64_t n = bounds[n_circuits] - origin;
  for (std::uint64_t k = 0; k < n; ++k) rate_fraction[k] = kernels::exp(rate_fraction[k]);
  for (std::size_t c = 0; c < n_circuits; ++c) {
    double normaliser = 0;
    for (auto k = bounds[c] - origin; k < bounds[c + 1] - origin; ++k)
      normaliser += rate_fraction[k];
    for (auto k = bounds[c] - origin; k < bounds[c + 1] - origin; ++k)
      rate_fraction[k] /= normaliser;
  }
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

// M7-M11 under variance tracking on a row of `n` synapses, synapse i listening to source
// source[i] with EPSP Y = epsp[source[i]]. A plain loop that the compiler vectorises
// (restrict: the arrays never overlap); every lane rounds as scalar code would, so results
// do not depend on the vector width.
// Kept out of line: inlined into the caller, GCC drops `restrict` and no longer vectorises it.
[[gnu::noinline]] inline void stdp_variance_tracking_row(double* __restrict weight,
                                                         double* __restrict mean,
                                                         double* __restrict second_moment,
                                                         const double* __restrict epsp,
                                                         const std::uint32_t* __restrict source,
                                                         std::size_t n, double eta) {
  for (std::size_t i = 0; i < n; ++i)
    stdp_variance_tracking(weight[i], mean[i], second_moment[i], epsp[source[i]], eta);
}

// M8-M9 with one learning rate for a whole row (M7' inverse_time, M7'' constant).
[[gnu::noinline]] inline void weight_step_row(double* __restrict weight,
                                              const double* __restrict epsp,
                                              const std::uint32_t* __restrict source, std::size_t n,
                                              double rate) {
  for (std::size_t i = 0; i < n; ++i) weight[i] = weight_step(weight[i], epsp[source[i]], rate);
}

struct WeightedSums {
  double decay;  // sum_j w_kj e_j
  double rise;   // sum_j w_kj ê_j
};

// The event-driven parts of u_k (M2, M6), summed in row order (a fixed order: the result does
// not depend on the decomposition).
inline WeightedSums weighted_sums(const double* weight, const double* trace_decay,
                                  const double* trace_rise, const std::uint32_t* source,
                                  std::size_t n) {
  WeightedSums sums{0.0, 0.0};
  for (std::size_t i = 0; i < n; ++i) {
    sums.decay += weight[i] * trace_decay[source[i]];
    sums.rise += weight[i] * trace_rise[source[i]];
  }
  return sums;
}

// weighted_sums() for two rows at once, each summed in its own row order exactly as alone (the
// same bits): the four sums are independent chains of additions, so interleaving them hides
// the latency of each addition (a row's sums are otherwise bound by it: one add per synapse
// after the other).
inline void weighted_sums_two(const double* weight0, const std::uint32_t* source0, std::size_t n0,
                              const double* weight1, const std::uint32_t* source1, std::size_t n1,
                              const double* trace_decay, const double* trace_rise,
                              WeightedSums& sums0, WeightedSums& sums1) {
  WeightedSums a{0.0, 0.0}, b{0.0, 0.0};
  const std::size_t common = std::min(n0, n1);
  for (std::size_t i = 0; i < common; ++i) {
    a.decay += weight0[i] * trace_decay[source0[i]];
    a.rise += weight0[i] * trace_rise[source0[i]];
    b.decay += weight1[i] * trace_decay[source1[i]];
    b.rise += weight1[i] * trace_rise[source1[i]];
  }
  for (std::size_t i = common; i < n0; ++i) {
    a.decay += weight0[i] * trace_decay[source0[i]];
    a.rise += weight0[i] * trace_rise[source0[i]];
  }
  for (std::size_t i = common; i < n1; ++i) {
    b.decay += weight1[i] * trace_decay[source1[i]];
    b.rise += weight1[i] * trace_rise[source1[i]];
  }
  sums0 = a;
  sums1 = b;
}

// M12-M13: STP state after a spike, with the ISI of M14 (seconds). M12 uses the old u.
inline void stp_after_spike(double& R, double& u, double U, double D_s, double F_s, double isi_s) {
  R = 1.0 + (R - u * R - 1.0) * kernels::exp(-isi_s / D_s);  // M12
  u = U + u * (1.0 - U) * kernels::exp(-isi_s / F_s);        // M13
}

}  // namespace seqlearn::kernels
