// Each equation group of docs/model.md against values worked out by hand (the working is in the
// comments; docs/model.md section 10 shows the same numbers).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "kernels_isa.hpp"
#include "seqlearn/kernels.hpp"

namespace k = seqlearn::kernels;

TEST(KernelM1M6, EulerTracesAfterOneSpike) {
  // A spike of amplitude 1 at step 0, nothing at step 1: e = 1 -> 0.95, ê = 1 -> 0.5 (dt = 1 ms,
  // tau = 20 ms, tau2 = 2 ms), so Y = 0.45 (docs/model.md 10, step 2).
  double e = k::trace_step(0.0, 0.95, 1.0);
  double e_rise = k::trace_step(0.0, 0.5, 1.0);
  EXPECT_EQ(k::epsp(e, e_rise), 0.0);
  e = k::trace_step(e, 1.0 - 1.0 / 20.0, 0.0);
  e_rise = k::trace_step(e_rise, 1.0 - 1.0 / 2.0, 0.0);
  EXPECT_DOUBLE_EQ(k::epsp(e, e_rise), 0.45);
  // One more silent step: 0.9025 - 0.25 = 0.6525 (docs/model.md 10, step 3).
  EXPECT_DOUBLE_EQ(k::epsp(k::trace_step(e, 0.95, 0.0), k::trace_step(e_rise, 0.5, 0.0)), 0.6525);
}

TEST(KernelM3, SoftmaxIsNormalisedAndShiftInvariant) {
  // u = (0, ln 3): p = (1, 3) / 4.
  const double u[2] = {0.0, std::log(3.0)};
  double p[2];
  k::softmax(u, p, 2);
  EXPECT_DOUBLE_EQ(p[0], 0.25);
  EXPECT_DOUBLE_EQ(p[1], 0.75);
  // Large potentials must not overflow: only differences matter.
  const double big[2] = {1000.0, 1000.0 + std::log(3.0)};
  k::softmax(big, p, 2);
  EXPECT_NEAR(p[0], 0.25, 1e-12);
  EXPECT_NEAR(p[1], 0.75, 1e-12);
  const double single[1] = {-123.0};
  k::softmax(single, p, 1);
  EXPECT_EQ(p[0], 1.0);
}

// The per-thread form gives every circuit the same bits as softmax() on that circuit alone.
TEST(KernelM3, ManyCircuitsAtOnceEqualsOneByOne) {
  const std::uint64_t bounds[] = {7, 9, 12, 13, 23};  // circuits of 2, 3, 1, 10 neurons
  std::vector<double> u;
  for (int i = 0; i < 16; ++i) u.push_back(std::sin(1.7 * i) * 40.0 - 3.0);
  std::vector<double> together(u.size()), alone(u.size());
  k::softmax_circuits(u.data(), together.data(), bounds, 4);
  for (int c = 0; c < 4; ++c)
    k::softmax(u.data() + (bounds[c] - 7), alone.data() + (bounds[c] - 7),
               bounds[c + 1] - bounds[c]);
  for (std::size_t i = 0; i < u.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint64_t>(together[i]), std::bit_cast<std::uint64_t>(alone[i]))
        << i;
  EXPECT_EQ(together[9 - 7 + 0] + together[9 - 7 + 1] + together[9 - 7 + 2] > 0.999, true);
}

TEST(KernelM4M5, SpikeProbability) {
  // r = 100 Hz * 0.5 = 50 Hz, dt = 1 ms: 1 - exp(-0.05) = 0.0487705754992860.
  EXPECT_DOUBLE_EQ(k::spike_probability(100.0, 0.5, 1e-3), 0.048770575499285984);
  EXPECT_EQ(k::spike_probability(100.0, 0.0, 1e-3), 0.0);
}

TEST(KernelM7, VarianceTrackingRate) {
  // S = 0, Q = 1: eta (1 - 0) / (e^0 + 1) = eta / 2.
  EXPECT_DOUBLE_EQ(k::variance_tracking_rate(0.05, 0.0, 1.0), 0.025);
  // S = 1, Q = 2: 0.05 * 1 / (e^-1 + 1) = 0.0365529...
  EXPECT_DOUBLE_EQ(k::variance_tracking_rate(0.05, 1.0, 2.0), 0.05 / (std::exp(-1.0) + 1.0));
  EXPECT_NEAR(k::variance_tracking_rate(0.05, 1.0, 2.0), 0.036552928931500245, 1e-15);
}

TEST(KernelM8M9, WeightStep) {
  // docs/model.md 10, step 2: w = 0, Y = 0.45, rate 0.025: Delta = (0.45 - 1) / max(1, 0.025) =
  // -0.55, w = -0.025 * 0.55 = -0.01375.
  EXPECT_DOUBLE_EQ(k::weight_step(0.0, 0.45, 0.025), -0.01375);
  // exp(w) below the rate: Delta = (Y - e^w) / rate, so w moves by exactly Y - e^w.
  // w = -5, Y = 0: -5 - e^-5 = -5.006737946999086.
  EXPECT_DOUBLE_EQ(k::weight_step(-5.0, 0.0, 0.025), -5.006737946999086);
  // At equilibrium Y = e^w nothing changes.
  EXPECT_EQ(k::weight_step(std::log(0.5), 0.5, 0.025), std::log(0.5));
}

TEST(KernelM10M11, VarianceTrackingState) {
  // From S = 0, Q = 1, w = 0, Y = 0.45: rate 0.025, new w = -0.01375;
  // S = 0 + 0.025 (-0.01375 - 0) = -0.00034375;
  // Q = 1 + 0.025 (0.01375^2 - 1) = 0.9750047265625.
  double w = 0.0, S = 0.0, Q = 1.0;
  k::stdp_variance_tracking(w, S, Q, 0.45, 0.05);
  EXPECT_DOUBLE_EQ(w, -0.01375);
  EXPECT_DOUBLE_EQ(S, -0.00034375);
  EXPECT_DOUBLE_EQ(Q, 0.9750047265625);
}

// M2's event-driven sums over a row: sum_j w_j e_j and sum_j w_j ê_j through the row's
// sources. Row (w = 0.5, -2, 4) on sources (2, 0, 2) with e = (1, 10, 0.25), ê = (3, 7, 0.5):
// decay 0.5 * 0.25 - 2 * 1 + 4 * 0.25 = -0.875; rise 0.5 * 0.5 - 2 * 3 + 4 * 0.5 = -3.75.
TEST(KernelM2M6, WeightedSumsOfOneRow) {
  const double w[] = {0.5, -2.0, 4.0};
  const std::uint32_t source[] = {2, 0, 2};
  const double e[] = {1.0, 10.0, 0.25}, e_hat[] = {3.0, 7.0, 0.5};
  const auto sums = k::weighted_sums(w, e, e_hat, source, 3);
  EXPECT_EQ(sums.decay, -0.875);
  EXPECT_EQ(sums.rise, -3.75);
}

// Two rows at once give each row's sums with the same bits as alone, for rows of different
// lengths either way round, and the hand-worked row above next to a one-synapse row
// (w = 3 on source 1: decay 30, rise 21).
TEST(KernelM2M6, TwoRowsAtOnceEqualOneByOne) {
  const double w1[] = {0.5, -2.0, 4.0}, w2[] = {3.0};
  const std::uint32_t s1[] = {2, 0, 2}, s2[] = {1};
  const double e[] = {1.0, 10.0, 0.25}, e_hat[] = {3.0, 7.0, 0.5};
  k::WeightedSums a{}, b{};
  k::weighted_sums_two(w1, s1, 3, w2, s2, 1, e, e_hat, a, b);
  EXPECT_EQ(a.decay, -0.875);
  EXPECT_EQ(a.rise, -3.75);
  EXPECT_EQ(b.decay, 30.0);
  EXPECT_EQ(b.rise, 21.0);

  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> value(-5.0, 5.0);
  std::vector<double> decay(50), rise(50);
  for (auto& x : decay) x = value(gen);
  for (auto& x : rise) x = value(gen);
  for (const auto& [n0, n1] :
       {std::pair{37, 29}, std::pair{29, 37}, std::pair{40, 40}, std::pair{0, 5}}) {
    std::vector<double> wa(static_cast<std::size_t>(n0)), wb(static_cast<std::size_t>(n1));
    std::vector<std::uint32_t> sa(wa.size()), sb(wb.size());
    for (auto& x : wa) x = value(gen);
    for (auto& x : wb) x = value(gen);
    for (auto& j : sa) j = static_cast<std::uint32_t>(gen() % 50);
    for (auto& j : sb) j = static_cast<std::uint32_t>(gen() % 50);
    k::WeightedSums together0{}, together1{};
    k::weighted_sums_two(wa.data(), sa.data(), wa.size(), wb.data(), sb.data(), wb.size(),
                         decay.data(), rise.data(), together0, together1);
    const auto alone0 =
        k::weighted_sums(wa.data(), decay.data(), rise.data(), sa.data(), wa.size());
    const auto alone1 =
        k::weighted_sums(wb.data(), decay.data(), rise.data(), sb.data(), wb.size());
    EXPECT_EQ(std::bit_cast<std::uint64_t>(together0.decay),
              std::bit_cast<std::uint64_t>(alone0.decay));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(together0.rise),
              std::bit_cast<std::uint64_t>(alone0.rise));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(together1.decay),
              std::bit_cast<std::uint64_t>(alone1.decay));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(together1.rise),
              std::bit_cast<std::uint64_t>(alone1.rise));
  }
}

TEST(KernelM12M13, StaticInputSynapse) {
  // Input channel: U = 1, D = F = dt = 1 ms. First spike with isi = 0: R = 1 + (1 - 1 - 1) e^0 = 0,
  // u = 1 + 1 * 0 * 1 = 1. Then isi = 1 ms: R = 1 + (0 - 0 - 1) e^-1 = 1 - e^-1.
  double R = 1.0, u = 1.0;
  k::stp_after_spike(R, u, 1.0, 1e-3, 1e-3, 0.0);
  EXPECT_EQ(R, 0.0);
  EXPECT_EQ(u, 1.0);
  k::stp_after_spike(R, u, 1.0, 1e-3, 1e-3, 1e-3);
  EXPECT_DOUBLE_EQ(R, 1.0 - std::exp(-1.0));
  EXPECT_EQ(u, 1.0);
}

TEST(KernelM12M13, DepressionUsesOldUtilisation) {
  // R = 1, u = U = 0.5, D = 110 ms, F = 5 ms, isi = 10 ms:
  // R = 1 + (1 - 0.5 - 1) e^{-10/110} = 1 - 0.5 * 0.913100716... = 0.5434496418588688
  // u = 0.5 + 0.5 * 0.5 * e^{-2} = 0.5338338208091532
  double R = 1.0, u = 0.5;
  k::stp_after_spike(R, u, 0.5, 0.110, 0.005, 0.010);
  EXPECT_DOUBLE_EQ(R, 0.5434496418588688);
  EXPECT_DOUBLE_EQ(u, 0.5338338208091532);
}

namespace {

// Distance in units in the last place between two finite doubles of the same sign.
std::int64_t ulp_distance(double a, double b) {
  if (a == b) return 0;
  const auto ia = std::bit_cast<std::int64_t>(a);
  const auto ib = std::bit_cast<std::int64_t>(b);
  return ia > ib ? ia - ib : ib - ia;
}

// The same loop twice: once as the compiler likes (vectorised at -O3), once kept scalar.
void exp_loop(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = k::exp(x[i]);
}
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
void exp_loop_scalar(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    volatile double xi = x[i];  // one value at a time
    y[i] = k::exp(xi);
  }
}

}  // namespace

TEST(KernelExp, WithinOneUlpOfLibmOverTheWholeRange) {
  std::mt19937_64 engine(12345);
  std::uniform_real_distribution<double> wide(-745.0, 709.0);
  std::uniform_real_distribution<double> narrow(-5.0, 5.0);  // the model's usual arguments
  std::int64_t worst = 0;
  double worst_x = 0;
  for (int i = 0; i < 10'000'000; ++i) {
    const double x = (i % 2) ? wide(engine) : narrow(engine);
    const std::int64_t d = ulp_distance(k::exp(x), std::exp(x));
    if (d > worst) worst = d, worst_x = x;
  }
  EXPECT_LE(worst, 1) << "at x = " << worst_x;
  for (double x : {0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 0.5 * std::log(2.0), -708.0, 709.0,
                   709.78, -745.0, 1e-10, -1e-10})
    EXPECT_LE(ulp_distance(k::exp(x), std::exp(x)), 1) << "x = " << x;
  EXPECT_EQ(k::exp(0.0), 1.0);
}

TEST(KernelExp, EdgesLikeLibm) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(k::exp(710.0), inf);
  EXPECT_EQ(k::exp(1e300), inf);
  EXPECT_EQ(k::exp(inf), inf);
  EXPECT_EQ(k::exp(-746.0), 0.0);
  EXPECT_EQ(k::exp(-1e300), 0.0);
  EXPECT_EQ(k::exp(-inf), 0.0);
  EXPECT_TRUE(std::isnan(k::exp(std::numeric_limits<double>::quiet_NaN())));
  // Subnormal results: within a few of the smallest steps of libm's.
  for (double x : {-710.0, -720.0, -740.0, -744.0})
    EXPECT_NEAR(k::exp(x), std::exp(x), 2 * std::numeric_limits<double>::denorm_min()) << x;
}

// docs/design.md principle 1 at its root: a vectorised loop gives the same bits as a scalar one.
TEST(KernelExp, SameBitsInSimdLanesAndScalar) {
  std::mt19937_64 engine(7);
  std::uniform_real_distribution<double> any(-750.0, 712.0);
  std::vector<double> x(100'003), vectorised(x.size()), scalar(x.size());
  for (auto& v : x) v = any(engine);
  exp_loop(x.data(), vectorised.data(), x.size());
  exp_loop_scalar(x.data(), scalar.data(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(std::bit_cast<std::uint64_t>(vectorised[i]), std::bit_cast<std::uint64_t>(scalar[i]))
        << "x = " << x[i];
}

// Results do not depend on the instruction set the build targets (CMakeLists.txt
// SEQLEARN_ARCH): the generic x86-64 build (2 doubles per vector) and this build's give the
// same bits for exp, a softmax and a row of M7-M11 updates.
TEST(KernelIsa, GenericAndTargetBuildsGiveTheSameBits) {
  std::mt19937_64 engine(99);
  std::uniform_real_distribution<double> any(-30.0, 5.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  IsaData data;
  const std::size_t n = 1003, n_sources = 300;
  for (std::size_t i = 0; i < n; ++i) {
    data.x.push_back(any(engine));
    data.weight.push_back(std::log(unit(engine)));
    data.mean.push_back(data.weight.back() + 0.1 * unit(engine));
    data.second_moment.push_back(data.mean.back() * data.mean.back() + unit(engine));
    data.source.push_back(static_cast<std::uint32_t>(engine() % n_sources));
  }
  for (std::size_t j = 0; j < n_sources; ++j) data.epsp.push_back(unit(engine));
  data.exp.resize(n);
  data.softmax.resize(n);
  IsaData generic = data, target = data;
  run_kernels_generic(generic);
  run_kernels_arch(target);
  auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (std::bit_cast<std::uint64_t>(a[i]) != std::bit_cast<std::uint64_t>(b[i])) return false;
    return true;
  };
  EXPECT_TRUE(same(generic.exp, target.exp));
  EXPECT_TRUE(same(generic.softmax, target.softmax));
  EXPECT_TRUE(same(generic.weight, target.weight));
  EXPECT_TRUE(same(generic.mean, target.mean));
  EXPECT_TRUE(same(generic.second_moment, target.second_moment));
  EXPECT_FALSE(same(generic.weight, data.weight));  // the row was updated
}
