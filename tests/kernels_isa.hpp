// Inputs and outputs of the kernels compiled for two instruction sets (kernels_isa.cpp).
#pragma once

#include <cstdint>
#include <vector>

struct IsaData {
  std::vector<double> x, exp, softmax;                    // exp and softmax of x
  std::vector<double> weight, mean, second_moment, epsp;  // a row under M7-M11
  std::vector<std::uint32_t> source;                      // each synapse's source
  double eta = 0.05;
};

void run_kernels_generic(IsaData& data);  // -march=x86-64
void run_kernels_arch(IsaData& data);     // -march=SEQLEARN_ARCH
