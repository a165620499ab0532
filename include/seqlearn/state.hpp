// One rank's model state, grouped by what it belongs to (structure of arrays; cf. NEST's
// parameters / state / buffers and Arbor's ion_state):
//   SourceState  every source the rank listens to (input channels and needed neurons), at the
//                router's local source indices: EPSP traces, STP state, last spike;
//   NeuronState  the rank's own neurons: potentials, rates, spikes, event-driven sums, readout;
//   SynapseRows  the synapses onto the rank's neurons, one row per neuron: w, S, Q.
// Each group owns its initial values and its reset, and names its checkpointed arrays once in
// `checkpoint_fields` (docs/checkpoint.md), with the values a restore accepts, which both
// writing and restoring go through.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "seqlearn/kernels.hpp"

namespace seqlearn {

// What a restore accepts in a checkpointed array (every element; docs/checkpoint.md).
enum class Valid {
  finite,        // any finite number
  non_negative,  // finite and >= 0
  stp_state,     // STP R or u: in [0, 1] for a source with U <= 1, finite otherwise (M12-M13)
  step_so_far,   // a step in [-1, the checkpoint's step]
};

// Per-source STP parameters (docs/model.md 2), fixed for the whole run; times in seconds.
struct SourceParameters {
  std::vector<double> U, D_s, F_s;
};

struct SourceState {
  std::vector<double> trace_decay;       // e_j (M6)
  std::vector<double> trace_rise;        // ê_j (M6)
  std::vector<double> epsp;              // Y_j(n) = e_j - ê_j (M1), this step's value
  std::vector<double> stp_R;             // R_j (M12)
  std::vector<double> stp_u;             // u_j (M13)
  std::vector<std::int64_t> last_spike;  // isi_j = (n - last_spike_j - 1) dt (M14)

  // Traces 0, R = 1, u = U, and the ISI clock started at `step` (docs/model.md 2 and 6).
  void reset(const SourceParameters& parameters, std::int64_t step) {
    const std::size_t n = parameters.U.size();
    trace_decay.assign(n, 0.0);
    trace_rise.assign(n, 0.0);
    epsp.assign(n, 0.0);
    stp_R.assign(n, 1.0);
    stp_u = parameters.U;
    last_spike.assign(n, step - 1);
  }

  // Source j spikes at step n: returns the amplitude R*u its spike carries (1 without STP)
  // and advances its STP state with the ISI since its previous spike (M12-M14).
  double fire(std::size_t j, std::int64_t n, const SourceParameters& parameters, bool use_stp,
              double dt_s) {
    double amplitude = 1.0;
    if (use_stp) {
      amplitude = stp_R[j] * stp_u[j];
      const double isi_s = static_cast<double>(n - last_spike[j] - 1) * dt_s;  // M14
      kernels::stp_after_spike(stp_R[j], stp_u[j], parameters.U[j], parameters.D_s[j],
                               parameters.F_s[j], isi_s);  // M12-M13
    }
    last_spike[j] = n;
    return amplitude;
  }

  // /sources/NAME in a checkpoint. `epsp` is recomputed each step.
  template <class Self, class F>
  static void checkpoint_fields(Self& self, F&& f) {
    f("trace_decay", self.trace_decay, Valid::finite);  // < 0 after spikes with R u < 0 (U > 1)
    f("trace_rise", self.trace_rise, Valid::finite);
    f("stp_R", self.stp_R, Valid::stp_state);
    f("stp_u", self.stp_u, Valid::stp_state);
    f("last_spike", self.last_spike, Valid::step_so_far);
  }
};

struct NeuronState {
  std::vector<double> weighted_decay;  // sum_j w_kj e_j: the event-driven part of u_k (M2)
  std::vector<double> weighted_rise;   // sum_j w_kj ê_j
  std::vector<double> bias;            // w_k0 (0: use_priors is off)
  std::vector<double> potential;       // u_k(n) (M2)
  std::vector<double> rate_fraction;   // p_k(n) (M3)
  std::vector<std::uint8_t> spiked;    // z_k(n) (M5)
  std::vector<double> readout;         // x_k <- x_k (1 - dt/tau) + z_k (docs/model.md 8)

  explicit NeuronState(std::size_t n = 0)
      : weighted_decay(n, 0.0),
        weighted_rise(n, 0.0),
        bias(n, 0.0),
        potential(n, 0.0),
        rate_fraction(n, 0.0),
        spiked(n, 0),
        readout(n, 0.0) {}

  std::size_t size() const { return potential.size(); }

  // docs/model.md 6: a test phase starts with no EPSPs and a zero readout.
  void reset_transients() {
    std::fill(weighted_decay.begin(), weighted_decay.end(), 0.0);
    std::fill(weighted_rise.begin(), weighted_rise.end(), 0.0);
    std::fill(readout.begin(), readout.end(), 0.0);
  }

  // /neurons/NAME in a checkpoint. The event-driven sums are saved, not recomputed, because
  // recomputing them would round differently.
  template <class Self, class F>
  static void checkpoint_fields(Self& self, F&& f) {
    f("weighted_decay", self.weighted_decay, Valid::finite);
    f("weighted_rise", self.weighted_rise, Valid::finite);
    f("readout", self.readout, Valid::non_negative);
  }
};

struct SynapseRows {
  // One name per quantity, the output's and the checkpoint's (S_kj and Q_kj in the equations).
  std::vector<std::uint64_t> row_begin;        // per local neuron, + 1: its row in the arrays below
  std::vector<double> weight;                  // w_kj, a log-weight (M2, M9)
  std::vector<double> variance_tracking_mean;  // S_kj: running mean of w_kj (M10)
  std::vector<double> variance_tracking_second_moment;  // Q_kj: its second moment (M11)

  // Rows of the given lengths; w = 0, S = 0, Q = 1 (docs/model.md 4.6).
  explicit SynapseRows(const std::vector<std::uint64_t>& row_lengths = {})
      : row_begin(row_lengths.size() + 1, 0) {
    for (std::size_t k = 0; k < row_lengths.size(); ++k)
      row_begin[k + 1] = row_begin[k] + row_lengths[k];
    for (auto* values : {&weight, &variance_tracking_mean, &variance_tracking_second_moment}) {
      values->reserve(row_begin.back());
      advise_huge_pages(values->data(), values->capacity() * sizeof(double));
    }
    weight.assign(row_begin.back(), 0.0);
    variance_tracking_mean.assign(row_begin.back(), 0.0);
    variance_tracking_second_moment.assign(row_begin.back(), 1.0);
  }

  // Asks the kernel to back the 2 MiB-aligned part of [data, data + bytes) with huge pages
  // (transparent huge pages in `madvise` mode), before the memory is first touched: spikes
  // and STDP read rows all over the synapse arrays, and with 4 KiB pages nearly every
  // synaptic event of a large grid missed the TLB too. Performance only; a no-op elsewhere.
  static void advise_huge_pages(void* data, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t kHuge = std::uintptr_t{1} << 21;
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHuge - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)data;
    (void)bytes;
#endif
  }

  std::uint64_t size() const {
    return weight.size();
  }
  std::uint64_t row_length(std::size_t k) const {
    return row_begin[k + 1] - row_begin[k];
  }

  // /synapses/NAME in a checkpoint, in global synapse order (by neuron, then source id).
  template <class Self, class F>
  static void checkpoint_fields(Self& self, F&& f) {
    f("weight", self.weight, Valid::finite);
    f("variance_tracking_mean", self.variance_tracking_mean, Valid::finite);
    f("variance_tracking_second_moment", self.variance_tracking_second_moment, Valid::finite);
  }
};

// The bytes that one item of State (a source, a neuron, a synapse) holds in its checkpoint
// fields, which are all of a synapse's state: what the memory and disk estimates count per item
// (src/estimates.cpp), so that a field added to a state is counted without more code.
template <class State>
std::size_t checkpoint_bytes_per_item() {
  State none{};
  std::size_t bytes = 0;
  State::checkpoint_fields(none, [&](const char*, const auto& values, auto) {
    bytes += sizeof(typename std::decay_t<decltype(values)>::value_type);
  });
  return bytes;
}

// One rank's whole model state, with the fixed STP parameters its sources' resets start from.
struct ModelState {
  SourceParameters source_parameters;
  SourceState sources;
  NeuronState neurons;
  SynapseRows synapses;
};

}  // namespace seqlearn
