"""A seqlearn run as a Neo Block (https://neo.readthedocs.io; Debian: python3-neo).

Neo is imported here only, so the rest of the package works without it.
"""

from __future__ import annotations

import os

import numpy as np


def _annotation(value):
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def to_neo(run, inputs: bool = True):
    """One Segment per phase (the steps that ran: t_start = first step * dt, t_stop = one past
    the last), holding a SpikeTrain per neuron (annotations: neuron_id, circuit, source
    "neuron"), with `inputs` one per input channel too (channel, source "input"), and one
    Epoch "pattern presentations" with an entry per presentation wholly inside the phase
    (label "pattern P", array annotations pattern and sequence). Times in ms."""
    try:
        import neo
        import quantities as pq
    except ImportError as error:  # pragma: no cover - depends on the machine
        raise ImportError("seqlearn: to_neo() needs Neo (Debian: apt-get install python3-neo; "
                          "pip install neo)") from error

    dt = run.dt_ms
    block = neo.Block(
        name=os.path.basename(run.path),
        file_origin=run.path,
        description="seqlearn run",
    )
    block.annotate(
        n_neurons=run.n_neurons,
        n_inputs=run.n_inputs,
        dt_ms=dt,
        interrupted=run.interrupted,
        first_step=run.first_step,
        last_step=run.last_step,
        **{"config": {k: _annotation(v) for k, v in run.config.items()}},
    )
    circuits = run.circuit_of()
    for phase in run.phases:
        t_start, t_stop = phase.first * dt * pq.ms, phase.end * dt * pq.ms
        segment = neo.Segment(name=f"phase {phase.index}: {phase.name}", index=phase.index)
        segment.annotate(phase=phase.index, kind=phase.name, learning=phase.learning,
                         first_step=phase.first, last_step=phase.last, complete=phase.complete)
        for neuron, steps in enumerate(run.spike_steps(phase.first, phase.end)):
            train = neo.SpikeTrain(steps * dt, units="ms", t_start=t_start, t_stop=t_stop,
                                   name=f"neuron {neuron}")
            train.annotate(neuron_id=neuron, circuit=int(circuits[neuron]), source="neuron")
            segment.spiketrains.append(train)
        if inputs:
            for channel, steps in enumerate(run.input_spike_steps(phase.first, phase.end)):
                train = neo.SpikeTrain(steps * dt, units="ms", t_start=t_start, t_stop=t_stop,
                                       name=f"input {channel}")
                train.annotate(channel=channel, source="input")
                segment.spiketrains.append(train)
        presentations = run.presentations(phase.first, phase.end)
        epoch = neo.Epoch(
            times=np.array([p.start for p in presentations], float) * dt * pq.ms,
            durations=np.array([p.length for p in presentations], float) * dt * pq.ms,
            labels=np.array([f"pattern {p.pattern}" for p in presentations], dtype="U"),
            name="pattern presentations",
            array_annotations={
                "pattern": np.array([p.pattern for p in presentations], np.int64),
                "sequence": np.array([p.sequence for p in presentations], np.int64),
            },
        )
        segment.epochs.append(epoch)
        block.segments.append(segment)
    if hasattr(block, "create_relationship"):  # Neo < 0.12: parents set explicitly
        block.create_relationship()
    return block
