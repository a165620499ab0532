// The input generator alone (bench/tasks.sh): wall nanoseconds per generated step for each
// input task on the same channels, so that the xor, file and multi tasks' per-step cost can be
// set against the pattern task's. Prints one `input_cost:` line per task.
// Usage: bench_input [N_INPUTS [STEPS [INPUT_FILE]]]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "seqlearn/config.hpp"
#include "seqlearn/input.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/rng.hpp"

int main(int argc, char** argv) {
  const std::string n_inputs = argc > 1 ? argv[1] : "100";
  const std::int64_t steps = argc > 2 ? std::stoll(argv[2]) : 2000000;
  const std::string file = argc > 3 ? argv[3] : "";
  for (const char* task : {"pattern", "xor", "file", "multi"}) {
    if (std::string(task) == "file" && file.empty()) continue;
    const seqlearn::Config config =
        seqlearn::make_config({{"network.n_inputs", n_inputs},
                               {"run.protocol", "train:" + std::to_string(steps) + ":" + task},
                               {"input.file", file}});
    const seqlearn::CounterRng rng(config.seed);
    seqlearn::InputGenerator generator(config, rng, seqlearn::load_input_files(config));
    generator.start_phase(config.input_settings(config.protocol.front()));
    seqlearn::InputStep step;
    std::uint64_t spikes = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t n = 0; n < steps; ++n) {
      generator.generate(n, step);
      spikes += step.channels.size();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "input_cost: task=%s n_inputs=%s steps=%lld ns_per_step=%.1f spikes_per_step=%.3f\n", task,
        n_inputs.c_str(), static_cast<long long>(steps), seconds * 1e9 / static_cast<double>(steps),
        static_cast<double>(spikes) / static_cast<double>(steps));
  }
  return 0;
}
