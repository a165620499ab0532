"""Writing the file task's input (docs/output.md "File-task input", docs/model.md 11.2)."""

from __future__ import annotations

import math
import os
import secrets
import stat

import numpy as np

__all__ = ["write_input"]

MAX_STEPS = 10**15  # the program's limit on a file step (and on n_steps)
_INT32_MAX = 2**31 - 1


def _integers(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"write_input: {name} must be a 1-D sequence of integers, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, np.int64)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            raise ValueError(f"write_input: {name} must be integers, got {array.dtype} (whole numbers: "
                             f"pass {name}.astype(int))")
        raise ValueError(f"write_input: {name} must be integers, got dtype {array.dtype}")
    if array.dtype.kind == "u" and array.dtype.itemsize == 8 and array.max() > np.uint64(np.iinfo(np.int64).max):
        raise ValueError(f"write_input: {name} holds values beyond int64")
    return array.astype(np.int64)


def _open_exclusive(path: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, 0o644)


def write_input(path, steps, channels, labels=None, dt: float | None = None, n_steps: int | None = None,
                n_inputs: int | None = None, overwrite: bool = False) -> str:
    """Writes a `file`-task input as HDF5 (docs/output.md "File-task input"): `/spikes/step` and
    `/spikes/channel` (int64, one entry per input spike, ordered by step), optionally `/labels`
    (int32, one per step of the file, -1 = no label) and the root attributes `n_steps` (the
    file's length in steps) and `dt` (ms; the program refuses the file unless it equals
    `neuron.dt`). Returns the path.

    steps, channels  equal-length integer sequences: spike i is channel channels[i] at step
                     steps[i]; steps >= 0 and ascending (ties in any order), channels >= 0 (and
                     < n_inputs when given: the run's network.n_inputs)
    labels           per step of the file, integers >= -1 (-1: none); its length is the file's
                     length (n_steps, when given too, must equal it)
    n_steps          the file's length without labels (default: the last spike's step + 1)
    overwrite        replace an existing regular file (never a link, FIFO, device or folder)

    The file is created under a temporary name with O_EXCL | O_NOFOLLOW in the same folder and
    moved into place only when complete: without overwrite an existing `path` (a dangling link
    too) is left alone and FileExistsError is raised."""
    import h5py

    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path or "\0" in path:
        raise ValueError(f"write_input: {path!r} is not a path")
    steps = _integers("steps", steps)
    channels = _integers("channels", channels)
    if len(steps) != len(channels):
        raise ValueError(f"write_input: steps and channels differ in length ({len(steps)} and {len(channels)})")
    if len(steps):
        if steps.min() < 0:
            i = int(np.argmax(steps < 0))
            raise ValueError(f"write_input: steps[{i}] is {steps[i]}; steps must be >= 0")
        if steps.max() >= MAX_STEPS:
            raise ValueError("write_input: a step is 1e15 or more")
        if np.any(np.diff(steps) < 0):
            i = int(np.argmax(np.diff(steps) < 0)) + 1
            raise ValueError(f"write_input: steps must be ascending; steps[{i}] = {steps[i]} follows "
                             f"{steps[i - 1]} (sort with order = numpy.argsort(steps, kind='stable'))")
        if channels.min() < 0:
            i = int(np.argmax(channels < 0))
            raise ValueError(f"write_input: channels[{i}] is {channels[i]}; channels must be >= 0")
    if n_inputs is not None:
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
            raise ValueError(f"write_input: n_inputs must be a positive integer, got {n_inputs!r}")
        if len(channels) and channels.max() >= n_inputs:
            i = int(np.argmax(channels >= n_inputs))
            raise ValueError(f"write_input: channels[{i}] is {channels[i]}, outside [0, {n_inputs - 1}] "
                             f"(n_inputs = {n_inputs})")
    length = None
    if labels is not None:
        labels = _integers("labels", labels)
        if len(labels) == 0:
            raise ValueError("write_input: labels is empty; pass labels=None for a file without labels")
        if labels.min() < -1 or labels.max() > _INT32_MAX:
            bad = (labels < -1) | (labels > _INT32_MAX)
            i = int(np.argmax(bad))
            raise ValueError(f"write_input: labels[{i}] is {labels[i]}; labels are int32 >= -1 (-1: none)")
        length = len(labels)
    if n_steps is not None:
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or not 1 <= n_steps <= MAX_STEPS:
            raise ValueError(f"write_input: n_steps must be an integer from 1 to 1e15, got {n_steps!r}")
        if length is not None and n_steps != length:
            raise ValueError(f"write_input: n_steps is {n_steps} but labels has {length} entries")
        length = int(n_steps)
    if length is not None and len(steps) and steps[-1] >= length:
        raise ValueError(f"write_input: spike step {steps[-1]} is beyond the file's {length} steps "
                         "(labels/n_steps)")
    if length is None and len(steps) == 0:
        raise ValueError("write_input: no spikes, no labels and no n_steps: the file would last no step")
    if dt is not None:
        if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(dt)) or float(dt) <= 0:
            raise ValueError(f"write_input: dt must be a finite number of ms > 0, got {dt!r}")

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"write_input: the folder {folder!r} of {path!r} does not exist")
    if overwrite:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
            raise FileExistsError(f"write_input: {path!r} is {kind}; only a regular file is replaced, even "
                                  "with overwrite=True")
    elif os.path.lexists(path):
        raise FileExistsError(f"write_input: {path!r} exists; pass overwrite=True to replace it")
    temp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.partial")
    fd = _open_exclusive(temp)
    try:
        with os.fdopen(fd, "w+b") as handle:
            with h5py.File(handle, "w") as f:
                f.create_dataset("spikes/step", data=steps, dtype=np.int64)
                f.create_dataset("spikes/channel", data=channels, dtype=np.int64)
                if labels is not None:
                    f.create_dataset("labels", data=labels.astype(np.int32), dtype=np.int32)
                if length is not None:
                    f.attrs["n_steps"] = np.int64(length)
                if dt is not None:
                    f.attrs["dt"] = float(dt)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temp, path)  # replaces the name (a link planted meanwhile), never follows it
        else:
            try:
                os.link(temp, path)  # fails if anything appeared at path: no replace
            except FileExistsError:
                raise FileExistsError(f"write_input: {path!r} exists; pass overwrite=True to replace it") from None
            except OSError:  # a filesystem without hard links
                if os.path.lexists(path):
                    raise FileExistsError(f"write_input: {path!r} exists; pass overwrite=True to replace it") from None
                os.rename(temp, path)
            else:
                os.unlink(temp)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    return path
