// seqlearn_mpi: the command-line front end. Parses and checks the configuration on every
// rank (identically, so a bad input ends every rank with exit code 2 and one message from
// rank 0), builds the network (or restores a checkpoint), runs the protocol with progress on
// rank 0, writes the HDF5 file and prints a summary. SIGTERM/SIGINT stop every rank at the
// same exchange interval, with a checkpoint and a complete output file (exit code 3); SIGUSR1
// and SIGUSR2 do the same (mpirun forwards them to every rank, which it cannot do for SIGTERM:
// scripts/launch.sh turns a Ctrl-C or SIGTERM into SIGUSR2, docs/checkpoint.md). A failure on
// one rank only ends the whole job via MPI_Abort (exit code 1), after its message, and never
// through a collective call (docs/design.md): an error path must not wait for other ranks.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>  // program_invocation_short_name (GNU)
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>

#include "estimates.hpp"
#include "report.hpp"
#include "seqlearn/checkpoint.hpp"
#include "seqlearn/communicator.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/input_files.hpp"
#include "seqlearn/output.hpp"
#include "seqlearn/output_claim.hpp"
#include "seqlearn/simulator.hpp"
#include "seqlearn/threads.hpp"
#include "seqlearn/version.hpp"

namespace {

using seqlearn::ConfigError;

constexpr int kExitStopped = 3;

// The simulator that a SIGTERM/SIGINT asks to stop (request_stop only stores an atomic flag),
// published by a StopTarget for exactly as long as it lives. The handlers are installed at
// start-up: a signal during the set-up (parsing, building the network, restoring) is remembered
// and stops the run at its first exchange interval (D17). One after the simulator is gone (mpirun
// sends SIGTERM to the ranks still finalising when the first exits with 3) only records itself:
// it once wrote into the destroyed simulator's stack frame and crashed ranks in their teardown.
std::atomic<seqlearn::Simulator*> g_simulator{nullptr};
std::atomic<int> g_handlers_running{0};  // handlers between loading g_simulator and done with it
static_assert(std::atomic<seqlearn::Simulator*>::is_always_lock_free &&
              std::atomic<int>::is_always_lock_free);  // async-signal-safe
volatile std::sig_atomic_t g_signal = 0;
// Rank 0 says at once, from the handler (write(2) is async-signal-safe), what a stop request
// does, so that a launcher that kills the ranks before they are done (mpirun: SIGKILL
// odls_base_sigkill_timeout s after SIGTERM) leaves a log that says which checkpoint is valid.
// The short note until then, with the program's name (set before the handlers are installed).
char g_early_note[256];
std::size_t g_early_note_length = 0;
char g_stop_note[1024];                          // the full note, once the files are known
std::atomic<std::size_t> g_stop_note_length{0};  // 0 until g_stop_note is complete
std::atomic<bool> g_stop_note_written{false};
// Once the last exchange interval is behind, a stop request can stop nothing: the run ends
// normally (exit 0, no checkpoint for the request), and the note says so instead.
std::atomic<bool> g_simulation_over{false};
char g_late_note[256];
std::size_t g_late_note_length = 0;
std::atomic<bool> g_late_note_written{false};
bool g_speaks = false;  // rank 0

extern "C" void on_stop_signal(int signal_number) {
  g_signal = signal_number;
  g_handlers_running.fetch_add(1);
  if (seqlearn::Simulator* simulator = g_simulator.load()) simulator->request_stop();
  g_handlers_running.fetch_sub(1);
  if (g_speaks && !g_stop_note_written.exchange(true)) {
    const std::size_t length = g_stop_note_length.load();
    ssize_t ignored = 0;
    if (g_simulation_over.load()) {
      g_late_note_written.store(true);
      ignored = write(2, g_late_note, g_late_note_length);
    } else {
      ignored =
          length > 0 ? write(2, g_stop_note, length) : write(2, g_early_note, g_early_note_length);
    }
    (void)ignored;
  }
}

std::size_t format_note(char* note, std::size_t size, const char* program, const char* text) {
  const int length = std::snprintf(note, size, "%.200s: %s\n", program, text);
  return static_cast<std::size_t>(std::clamp(length, 0, static_cast<int>(size) - 1));
}

// `program`: the name the notes begin with. From the preinit function it is argv[0]'s last part:
// glibc sets program_invocation_short_name only in its own initialiser, which runs later (the
// notes began with ": " when formatted from it there).
void install_stop_handlers(const char* program) {
  if (g_early_note_length == 0) {
    g_early_note_length = format_note(g_early_note, sizeof g_early_note, program,
                                      "stop requested: stopping at the next exchange interval");
    g_late_note_length = format_note(g_late_note, sizeof g_late_note, program,
                                     "stop requested after the last step: the run is complete "
                                     "and ends normally once its output is written (exit code 0; "
                                     "no checkpoint is written for the request)");
  }
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  action.sa_flags = SA_RESTART;  // a stop request must not fail a read or write in progress
  sigemptyset(&action.sa_mask);
  for (const int signal_number : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2})
    sigaction(signal_number, &action, nullptr);
}

// A launcher that forwards a stop signal (scripts/launch.sh, seqlearn.run) must not send it
// before every rank has its handlers: until then the signal's default action ends the rank
// (exit 140 for SIGUSR2, no files; issue 18 D10). With SEQLEARN_READY_DIR set, each process
// says so by creating READY_DIR/ready.PID once its handlers are in place; the launcher holds a
// stop request back until it has seen one file per rank. Created exclusively, never through a
// symbolic link; a failure only costs the launcher's wait.
void announce_ready(char** environment) {
  // Read from the environment passed to the preinit function: getenv is not ready yet.
  constexpr char kName[] = "SEQLEARN_READY_DIR=";
  const char* folder = nullptr;
  for (char** entry = environment; entry != nullptr && *entry != nullptr; ++entry)
    if (std::strncmp(*entry, kName, sizeof kName - 1) == 0) folder = *entry + sizeof kName - 1;
  if (folder == nullptr || *folder == '\0') return;
  char path[4096];
  const int length =
      std::snprintf(path, sizeof path, "%s/ready.%ld", folder, static_cast<long>(getpid()));
  if (length <= 0 || static_cast<std::size_t>(length) >= sizeof path) return;
  const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}

// The handlers go in before main(), from the executable's .preinit_array, which runs before
// any shared library's initialiser (MPI's and HDF5's take milliseconds): what remains before
// them is the dynamic loader mapping the libraries, where a signal still acts as by default.
extern "C" void seqlearn_preinit(int argc, char** argv, char** environment) {
  const char* program = argc > 0 && argv != nullptr && argv[0] != nullptr ? argv[0] : "seqlearn";
  if (const char* slash = std::strrchr(program, '/')) program = slash + 1;
  install_stop_handlers(program);
  announce_ready(environment);
}
__attribute__((section(".preinit_array"), used)) void (*const g_preinit)(int, char**,
                                                                         char**) = seqlearn_preinit;

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "a signal";
  }
}

// The note of on_stop_signal, once the checkpoint's name is known (before the handlers can
// read it: set while g_stop_note_length is 0, published by storing the length).
void prepare_stop_note(const seqlearn::Config& config) {
  std::string note =
      std::string(program_invocation_short_name) +
      ": stop requested: the ranks stop at the next exchange interval and write the "
      "checkpoint " +
      config.checkpoint_file + " (via " + config.checkpoint_file +
      ".partial; an earlier checkpoint of that name stays valid until the new one is complete), "
      "then the output " +
      config.output_file +
      ". If the launcher kills the ranks before 'checkpoint written' is printed, the new "
      "checkpoint is lost and only the earlier one, if any, is valid (docs/checkpoint.md).\n";
  note.resize(std::min(note.size(), sizeof g_stop_note - 1));
  if (g_stop_note_length.load() != 0) return;  // prepared once
  std::copy(note.begin(), note.end(), g_stop_note);
  g_stop_note_length.store(note.size());
}

// What the program is doing, for the message of a failure that was not foreseen (bad_alloc).
const char* g_stage = "starting";
seqlearn::MemoryNeed g_memory;  // the memory estimate, for the out-of-memory message

// Test hook (tests/cli/failures.sh): SEQLEARN_TEST_FAULT=RANK:STEP makes that rank throw once
// the run has passed STEP steps, to check that one rank's failure ends the whole job.
struct InjectedFault {
  int rank = -1;
  std::int64_t step = 0;
};
InjectedFault injected_fault() {
  InjectedFault fault;
  if (const char* text = std::getenv("SEQLEARN_TEST_FAULT"))
    if (std::sscanf(text, "%d:%lld", &fault.rank, reinterpret_cast<long long*>(&fault.step)) != 2)
      fault.rank = -1;
  return fault;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Every file the run will write (output, checkpoint, their folders) is checked and claimed
// on rank 0 before anything is built (output_claim.hpp: exclusive lock files, files compared
// by identity, existing files kept unless overwrite); the verdict is shared so that every rank
// exits 2. The claim lasts as long as the returned object; a refused run leaves nothing.
std::unique_ptr<seqlearn::OutputClaim> check_output(const seqlearn::Config& config,
                                                    const seqlearn::Invocation& invocation,
                                                    seqlearn::Communicator& comm) {
  // The files the run reads: none of them may be one it writes (issue 18).
  const std::vector<seqlearn::PlannedFile> inputs{
      {"--config", invocation.config_path, ""},
      {"--restore", invocation.restore_path, ""},
      {"input.file", config.train_input.file, ""},
      {"input.label_file", config.train_input.label_file, ""},
      {config.test_input.file_key, config.test_input.file, ""},
      {config.test_input.label_file_key, config.test_input.label_file, ""},
      {"validation.forced_spikes", config.forced_spikes_file, ""}};
  std::string problem;
  std::unique_ptr<seqlearn::OutputClaim> claim;
  if (comm.rank() == 0) {
    try {
      claim = std::make_unique<seqlearn::OutputClaim>(
          std::vector<seqlearn::PlannedFile>{
              {"output.file", config.output_file, "--output"},
              {"output.checkpoint_file", config.checkpoint_file, "--output.checkpoint_file"}},
          config.overwrite, inputs);
    } catch (const ConfigError& e) {
      problem = e.what();
    }
  }
  if (comm.max(problem.empty() ? 0.0 : 1.0) > 0) throw ConfigError(problem);
  return claim;
}

// Threads bound to fewer cores than there are threads share them and gain nothing (Open
// MPI binds each rank to one core by default when ranks <= 2), and so do the threads of ranks
// whose affinities overlap (--bind-to none, or a socket binding): say so once, with the fix.
// Two launches waste cores whatever the thread count, and are said first: more ranks than the
// cores they may run on while others sit idle (mpirun --cpu-set 0 -n 2), and ranks that may run on
// the same cores while OpenMP binds their threads (OMP_PROC_BIND or OMP_PLACES with --bind-to
// none): every such rank starts its threads on the same first place.
void warn_if_threads_share_cores(const seqlearn::Simulator& simulator,
                                 seqlearn::Communicator& comm) {
  const seqlearn::CoreShare& share = simulator.core_share();
  const double threads = comm.max(static_cast<double>(simulator.threads()));
  const double fewest_cores = -comm.max(-static_cast<double>(share.cores));
  const double sharing_ranks = comm.max(static_cast<double>(share.sharing_ranks));
  const double short_of_cores = comm.max(simulator.threads() > share.cores ? 1.0 : 0.0);
  const double piled_ranks = comm.max(static_cast<double>(share.piled_ranks));
  // Crowded: ranks outnumber the cores they share while the node's allocation has more (a
  // node oversubscribed on purpose, scripts/launch.sh's R x T > cores, is not).
  const double crowded = comm.max(
      share.sharing_ranks > share.shared_cores && share.node_cores > share.shared_cores ? 1.0
                                                                                        : 0.0);
  if (comm.rank() != 0) return;
  const std::string fix = seqlearn::launch_hint(comm.size(), static_cast<int>(threads), share);
  if (piled_ranks > 0) {
    std::fprintf(stderr,
                 "%s: warning: %.0f ranks of a node start their threads on the same "
                 "OpenMP place (OMP_PROC_BIND or OMP_PLACES is set, and the ranks may run on the "
                 "same cores): they share its processors. Set OMP_PROC_BIND=false, or give each "
                 "rank cores of its own: %s\n",
                 program_invocation_short_name, piled_ranks, fix.c_str());
    return;
  }
  if (crowded > 0) {
    std::fprintf(stderr,
                 "%s: warning: more ranks of a node than the cores they may run on "
                 "(up to %.0f ranks share their CPU affinities) while the node has others: they "
                 "take turns on those cores; %s\n",
                 program_invocation_short_name, sharing_ranks, fix.c_str());
    return;
  }
  if (short_of_cores == 0) return;
  const std::string why =
      sharing_ranks > 1
          ? "up to " + std::to_string(static_cast<int>(sharing_ranks)) +
                " ranks of a node share the cores of their CPU affinities, " +
                std::to_string(static_cast<int>(fewest_cores)) + " core(s) each at the least"
          : "a rank may run on only " + std::to_string(static_cast<int>(fewest_cores)) +
                " core(s) (its CPU affinity)";
  std::fprintf(stderr,
               "%s: warning: %.0f threads per rank, but %s: threads beyond that share "
               "cores and gain nothing; %s\n",
               program_invocation_short_name, threads, why.c_str(), fix.c_str());
}

// --help or --version, on rank 0.
int show_help_or_version(const seqlearn::Invocation& invocation, seqlearn::Communicator& comm) {
  if (comm.rank() == 0)
    std::cout << (invocation.show_help
                      ? invocation.help_text
                      : std::string(program_invocation_short_name) + " " SEQLEARN_VERSION "\n");
  return 0;
}

// The configuration: the command line's, or a checkpoint's keys overridden by the command
// line's (--restore).
// `first_step`: the checkpoint's step (0 without --restore), where the run starts.
seqlearn::Config resolve_configuration(const seqlearn::Invocation& invocation,
                                       std::int64_t& first_step) {
  first_step = 0;
  if (invocation.restore_path.empty()) return invocation.config;
  const seqlearn::CheckpointHeader header =
      seqlearn::read_checkpoint_header(invocation.restore_path);
  first_step = header.step;
  return seqlearn::resume_config(header.config, invocation.explicit_values,
                                 header.remaining_protocol, header.continues_phase);
}

// Before anything is built: the files claimed, the stop note ready, the memory estimated.
std::unique_ptr<seqlearn::OutputClaim> check_before_building(const seqlearn::Config& config,
                                                             const seqlearn::Invocation& invocation,
                                                             seqlearn::Communicator& comm) {
  auto claim = check_output(config, invocation, comm);
  prepare_stop_note(config);
  seqlearn::check_memory(config, comm, g_memory);
  return claim;
}

// After the simulator is built: the checkpoint restored (if any) and the disk space checked;
// returns the build time (the largest over the ranks).
double finish_building(seqlearn::Simulator& simulator, const seqlearn::Config& config,
                       const seqlearn::Invocation& invocation, seqlearn::Communicator& comm,
                       std::chrono::steady_clock::time_point build_start) {
  const bool restoring = !invocation.restore_path.empty();
  if (restoring) seqlearn::restore(simulator, invocation.restore_path);
  seqlearn::check_space(config, simulator, comm);
  const double build_s = comm.max(seconds_since(build_start));
  if (comm.rank() == 0 && restoring)
    std::fprintf(stderr, "%s: restored '%s' at step %lld; running %s\n",
                 program_invocation_short_name, invocation.restore_path.c_str(),
                 static_cast<long long>(simulator.first_step()),
                 config.resolved_protocol_text().c_str());
  return build_s;
}

// Publishes `simulator` to the stop handlers while it lives; declared after the simulator, so
// gone before it. A handler that loaded the pointer on another thread (MPI's, OpenMP's) is waited
// for; one on this thread has finished before the destructor resumes.
class StopTarget {
 public:
  explicit StopTarget(seqlearn::Simulator& simulator) {
    g_simulator.store(&simulator);
    if (g_signal != 0) simulator.request_stop();  // a signal during the set-up (D17)
  }
  ~StopTarget() {
    g_simulator.store(nullptr);
    while (g_handlers_running.load() != 0) {
    }
  }
  StopTarget(const StopTarget&) = delete;
  StopTarget& operator=(const StopTarget&) = delete;
};

struct Simulated {
  bool stopped = false;  // by a stop request (a checkpoint was written)
  double simulate_s = 0;
};

// The protocol, with progress on rank 0; a stop request (also one during the set-up, D17)
// ends it at the next exchange interval with a checkpoint.
Simulated simulate(seqlearn::Simulator& simulator, const seqlearn::Config& config,
                   seqlearn::Communicator& comm) {
  const bool root = comm.rank() == 0;
  const InjectedFault fault = injected_fault();
  g_stage = "simulating";
  const auto run_start = std::chrono::steady_clock::now();
  double last_report = 0;
  const auto outcome = simulator.run([&](std::int64_t done, std::int64_t total) {
    if (fault.rank == comm.rank() && done >= fault.step)
      throw std::runtime_error("injected fault (SEQLEARN_TEST_FAULT) after step " +
                               std::to_string(done));
    if (!root) return;
    const double wall = seconds_since(run_start);
    if (wall - last_report >= 5.0 || done == total) {
      seqlearn::print_progress(done, total, config.dt_ms, wall);
      last_report = wall;
    }
  });
  const bool stopped = outcome == seqlearn::Simulator::Outcome::stopped;
  g_simulation_over.store(true);
  if (stopped && root)
    std::fprintf(stderr, "%s: checkpoint written to %s; writing the output %s\n",
                 program_invocation_short_name, config.checkpoint_file.c_str(),
                 config.output_file.c_str());
  // A request that came in the protocol's last exchange interval, or after it, stopped nothing
  // (Simulator::run); say so unless rank 0's handler already has (a note it printed earlier
  // promised a checkpoint). One that reaches another rank later still is not reported.
  const bool late_request = !stopped && comm.max(g_signal != 0 ? 1.0 : 0.0) > 0;
  if (late_request && root && !g_late_note_written.load())
    std::fprintf(stderr,
                 "%s: a stop request came in or after the last exchange interval: the run is "
                 "complete and ends normally (exit code 0; no checkpoint is written for the "
                 "request)\n",
                 program_invocation_short_name);
  g_stage = "writing the output";
  return {stopped, comm.max(seconds_since(run_start))};
}

// The output file and the summary; the exit code (3 if a stop request ended the run).
int write_and_report(const seqlearn::Config& config, const seqlearn::Simulator& simulator,
                     seqlearn::Communicator& comm, const seqlearn::RunTimes& times, bool stopped,
                     double prior_learning_steps) {
  const seqlearn::RunInfo info =
      seqlearn::collect_run_info(simulator, comm, times, stopped, prior_learning_steps);
  const auto output_start = std::chrono::steady_clock::now();
  seqlearn::write_output(config.output_file, simulator, info, comm);
  const double output_s = comm.max(seconds_since(output_start));
  seqlearn::print_summary(config, simulator, comm, info, output_s, stopped);
  if (!stopped) return 0;
  if (comm.rank() == 0)
    std::fprintf(
        stderr,
        "%s: stopped on request (%s) at step %lld (%.3f s of model time); checkpoint "
        "written to %s and output to %s.\nResume with: mpirun -n %d %s --restore %s "
        "--output NEW_OUTPUT.h5\n",
        program_invocation_short_name, signal_name(g_signal),
        static_cast<long long>(simulator.steps_done()),
        static_cast<double>(simulator.steps_done()) * config.dt_s(), config.checkpoint_file.c_str(),
        config.output_file.c_str(), comm.size(),
        // the program that ran: one built with plug-ins (docs/extending.md) must restore it
        program_invocation_short_name, config.checkpoint_file.c_str());
  return kExitStopped;
}

// The program's steps, in this order (every rank runs each one; a bad input ends every rank
// with exit code 2 before anything is simulated or written):
//   1. the configuration: the command line (--help, --version end here), or a checkpoint's
//   2. the checks before building: files claimed, stop note ready, memory estimated
//   3. the build: the simulator, restored from the checkpoint, the disk space checked, a
//      warning if threads share cores
//   4. the simulation of the protocol (a stop request ends it with a checkpoint)
//   5. the output file, the summary and the exit code
int run(int argc, char** argv, seqlearn::Communicator& comm) {
  const seqlearn::Invocation invocation = seqlearn::parse_command_line(argc, argv);
  if (invocation.show_help || invocation.show_version)
    return show_help_or_version(invocation, comm);
  std::int64_t first_step = 0;
  const seqlearn::Config config = resolve_configuration(invocation, first_step);
  const auto claim = check_before_building(config, invocation, comm);

  g_stage = "building the network";
  const auto build_start = std::chrono::steady_clock::now();
  // A restored run's forced spikes may run to its checkpoint's step plus its protocol.
  seqlearn::Simulator simulator(config, comm, seqlearn::load_simulator_inputs(config, first_step));
  simulator.set_checkpoint_writer(seqlearn::checkpoint_writer());
  const double build_s = finish_building(simulator, config, invocation, comm, build_start);
  warn_if_threads_share_cores(simulator, comm);

  // Training done before this run (by the run a checkpoint was restored from): the analysis
  // counts it ("after T s of training").
  const auto prior_learning_steps = static_cast<double>(simulator.learning_steps());
  const StopTarget stop_target(simulator);
  const Simulated simulated = simulate(simulator, config, comm);

  return write_and_report(config, simulator, comm, {build_s, simulated.simulate_s},
                          simulated.stopped, prior_learning_steps);
}

}  // namespace

int main(int argc, char** argv) {
  install_stop_handlers(program_invocation_short_name);  // again (seqlearn_preinit did first)
  seqlearn::MpiSession mpi(&argc, &argv);
  const int rank = seqlearn::MpiSession::world_rank();
  g_speaks = rank == 0;
  std::unique_ptr<seqlearn::Communicator> comm;
  try {
    comm = seqlearn::make_mpi_communicator();
    return run(argc, argv, *comm);
  } catch (const ConfigError& e) {
    // The job is ending: a signal from here on (mpirun stopping the ranks that have not exited
    // yet when the first one does) must not add a stop note to the one message. So in every
    // handler below.
    g_stop_note_written.store(true);
    // Every rank reaches this with the same error; rank 0 speaks for all of them.
    if (rank == 0) std::cerr << program_invocation_short_name << ": error: " << e.what() << "\n";
    return 2;
  } catch (const seqlearn::DivergenceError& e) {
    g_stop_note_written.store(true);
    // Every rank learns of it in the same exchange and stops; nothing is written.
    if (rank == 0) std::cerr << program_invocation_short_name << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc& e) {
    g_stop_note_written.store(true);
    // Only this rank knows: say what was being done and what the estimate was, then abort.
    std::cerr << program_invocation_short_name << ": rank " << rank
              << ": fatal error: out of memory while " << g_stage << " (" << e.what() << ")";
    if (g_memory.bytes > 0)
      std::cerr << "; the estimate was " << seqlearn::gigabytes(g_memory.bytes)
                << " per rank, largest part " << g_memory.what << " ("
                << seqlearn::gigabytes(g_memory.largest) << ", set by " << g_memory.key
                << "), with " << seqlearn::gigabytes(g_memory.available) << " available per rank";
    std::cerr << "\n";
    if (comm) comm->abort(1);
    return 1;
  } catch (const std::exception& e) {
    g_stop_note_written.store(true);
    std::cerr << program_invocation_short_name << ": rank " << rank << ": fatal error while "
              << g_stage << ": " << e.what() << "\n";
    if (comm) comm->abort(1);
    return 1;
  }
}
