// The model's vectorised kernels compiled for one instruction set (CMake builds this file
// twice: for the compiler's generic x86-64 and for SEQLEARN_ARCH; tests/test_kernels.cpp
// KernelIsa compares the two). The header is included inside a namespace of its own, so the
// two builds of each kernel never merge at link time.
#include "kernels_isa.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace SEQLEARN_ISA_NAMESPACE {
#include "seqlearn/kernels.hpp"
}

void SEQLEARN_ISA_FUNCTION(IsaData& data) {
  namespace k = SEQLEARN_ISA_NAMESPACE::seqlearn::kernels;
  for (std::size_t i = 0; i < data.x.size(); ++i) data.exp[i] = k::exp(data.x[i]);
  k::stdp_variance_tracking_row(data.weight.data(), data.mean.data(), data.second_moment.data(),
                                data.epsp.data(), data.source.data(), data.weight.size(), data.eta);
  k::softmax(data.x.data(), data.softmax.data(), data.x.size());
}
