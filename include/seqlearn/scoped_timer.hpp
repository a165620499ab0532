// Scoped timers for the summary's time split (wall) and the benchmarks' work figures (CPU).
#pragma once

#include <time.h>

#include <chrono>

namespace seqlearn {

// Adds the wall time of its scope to `total` (the compute / exchange split of the summary).
class ScopedTimer {
 public:
  explicit ScopedTimer(double& total) : total_(total) {}
  ~ScopedTimer() {
    total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  double& total_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// CPU seconds of this process, all threads (a system call of about 0.5 us: used per exchange
// interval only on more than one rank, where waiting in the collective may burn CPU).
inline double process_cpu_s() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Adds the CPU time of its scope to `total`.
class ScopedCpuTimer {
 public:
  explicit ScopedCpuTimer(double& total) : total_(total) {}
  ~ScopedCpuTimer() { total_ += process_cpu_s() - start_; }
  ScopedCpuTimer(const ScopedCpuTimer&) = delete;
  ScopedCpuTimer& operator=(const ScopedCpuTimer&) = delete;

 private:
  double& total_;
  const double start_ = process_cpu_s();
};

}  // namespace seqlearn
