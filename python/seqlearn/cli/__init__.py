"""The command-line tools of seqlearn, one module each with a main(argv=None) -> exit status:
seqlearn-analyze (analyze), seqlearn-plot (plot), seqlearn-sweep (sweep), seqlearn-join (join),
seqlearn-scaling (scaling). Installed as console scripts by pip (python/pyproject.toml); in the
source tree and a cmake install, tools/seqlearn-* launch them (`python3 -m seqlearn.cli.NAME`)."""
