"""seqlearn: read the simulator's output files (docs/output.md) from Python.

    import seqlearn
    run = seqlearn.open("results/default.h5")
    run.phases                      # [Phase(index, name, first, steps, learning, ...)]
    run.spike_times()               # per neuron: spike times, ms
    run.presentation_table()        # pattern presentations (pattern phases): pattern, sequence, start/end step, ms
    run.xor_window_table()          # windows of xor phases: half1, half2, xor, start/end step, ms
    run.label_table()               # labels of file phases: label, start/end step, ms
    run.config["neuron.dt"]         # 1.0 (typed values)
    block = run.to_neo()            # a neo.Block (python3-neo; imported only here)

    run = seqlearn.run("out.h5", overrides={"network.grid": "3x3", "run.protocol": "train:1000"},
                       ranks=2)         # runs seqlearn_mpi, returns the opened output
    seqlearn.restore(ckpt, "more.h5")   # continues a checkpoint (Ctrl-C gives RunInterrupted.checkpoint)
    seqlearn.write_input("in.h5", steps, channels, labels)   # a file-task input

Plain h5py and numpy; Neo is optional. `seqlearn.analysis` holds the measures of
docs/model.md section 9 (what tools/seqlearn-analyze prints).
"""

from .inputs import write_input
from .reader import CHUNK, LabelEpoch, Phase, Presentation, Run, XorWindow, parse_value
from .runner import RunError, RunInterrupted, find_program, restore, run

__all__ = ["open", "run", "restore", "write_input", "RunError", "RunInterrupted", "find_program", "Run", "Phase",
           "Presentation", "XorWindow", "LabelEpoch", "parse_value", "CHUNK"]


def open(path: str) -> Run:  # noqa: A001 (seqlearn.open, as h5py.File / neo.io readers)
    """Opens one seqlearn output file read-only (use it as a context manager, or call close())."""
    return Run(path)
