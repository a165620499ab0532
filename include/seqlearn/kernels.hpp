// The model's arithmetic, one function per equation group of docs/model.md, used by the
// simulator's hot loops and checked one by one against hand-computed values in
// tests/test_kernels.cpp. Expressions are written exactly as docs/model.md states them (the
// build disables FMA contraction), so that results are bit-reproducible.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

namespace seqlearn::kernels {

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
    rate_fraction[k] = std::exp(potential[k] - max_potential);
    normaliser += rate_fraction[k];
  }
  for (std::size_t k = 0; k < size; ++k) rate_fraction[k] /= normaliser;
}

// M4-M5: probability that a neuron with rate fraction p spikes in one step.
inline double spike_probability(double r_max_hz, double rate_fraction, double dt_s) {
  return 1.0 - std::exp(-(r_max_hz * rate_fraction) * dt_s);
}

// M7: the variance-tracking learning rate of a synapse.
inline double variance_tracking_rate(double eta, double mean, double second_moment) {
  return eta * (second_moment - mean * mean) / (std::exp(-mean) + 1.0);
}

// M8-M9: one weight update with learning rate `rate`; returns the new weight.
inline double weight_step(double weight, double epsp, double rate) {
  const double exp_w = std::exp(weight);
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
  R = 1.0 + (R - u * R - 1.0) * std::exp(-isi_s / D_s);  // M12
  u = U + u * (1.0 - U) * std::exp(-isi_s / F_s);        // M13
}

}  // namespace seqlearn::kernels
