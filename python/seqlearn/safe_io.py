"""How the tools read and write files (docs/design.md, issue 18 D2/D13):

- Every file a tool writes is first created under a fresh name in the target's folder
  (``NAME.partial.XXXXXXXX``) with ``O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW``, mode 0600 until
  it is complete (then 0666 less the umask), so a link or
  a special file planted at any name is never written through. HDF5 writes go to that very
  file (``/proc/self/fd/N``, or a Python file object where there is no /proc).
- The final name is then given to it only if it is absent, or, with overwrite, a regular file:
  an existing target that is not a regular file (a link, a folder, a FIFO, a device) is refused
  even with overwrite. Without overwrite the rename is ``renameat2(RENAME_NOREPLACE)`` (or a
  hard link), so a file that appeared at the final name meanwhile is kept.
- Any failure removes the temporary file.
- Every file a tool reads is checked to be a regular file (after following links) before it
  is read, and read from the descriptor that was checked.

Problems raise `Refused` with a one-line message; the tools print it and exit 2.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import io
import os
import secrets
import stat

__all__ = ["Refused", "check_regular", "open_input", "check_output", "output_folder", "AtomicOutput",
           "write_text", "write_bytes", "h5_output", "rename_noreplace", "beside_input"]


class Refused(Exception):
    """A path the tool will not read or write; str() is one line."""


def _one_line(path) -> str:
    text = os.fsdecode(path)
    return text if text.isprintable() else ascii(text)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "a file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def check_regular(path) -> os.stat_result:
    """stat (following links) of a file to be read; Refused unless it is a regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise Refused(f"no file {_one_line(path)}") from None
    except OSError as error:
        raise Refused(f"cannot read {_one_line(path)} ({error.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"{_one_line(path)} is {_kind(st.st_mode)}, not a regular file")
    return st


def open_input(path, mode: str = "r", encoding: str | None = "utf-8", errors: str = "strict"):
    """Opens a regular file for reading: O_NONBLOCK so that a FIFO cannot block the open, then
    fstat of the very descriptor (a file swapped after a check is caught too)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise Refused(f"no file {_one_line(path)}") from None
    except OSError as error:
        raise Refused(f"cannot read {_one_line(path)} ({error.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{_one_line(path)} is {_kind(st.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
        if "b" in mode:
            return os.fdopen(fd, "rb")
        return os.fdopen(fd, "r", encoding=encoding, errors=errors)
    except BaseException:
        os.close(fd)
        raise


def check_output(path, overwrite: bool) -> None:
    """Refused when `path` exists and is not a regular file (a link included), or exists and
    overwrite is off, or its folder does not exist."""
    folder = os.path.dirname(path) or "."
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not os.path.isdir(folder):
            raise Refused(f"no folder {_one_line(folder)} for {_one_line(path)}") from None
        return
    except OSError as error:
        raise Refused(f"cannot write {_one_line(path)} ({error.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"{_one_line(path)} exists and is {_kind(st.st_mode)}: only a regular file is replaced, "
                      "even with --overwrite")
    if not overwrite:
        raise Refused(f"{_one_line(path)} exists (--overwrite replaces it)")


#: folders of the system where no default output is put (an input named /dev/stdin, /proc/self/fd/0)
SYSTEM_FOLDERS = ("/dev", "/proc", "/sys")


def beside_input(path, suffix: str, option: str) -> str:
    """The default output beside an input: PATH less its extension, plus `suffix`. Refused (one
    line asking for `option`) when that folder, links resolved, is /dev, /proc or /sys or below:
    `seqlearn-analyze /dev/stdin < run.h5` would write /dev/stdin.analysis.json."""
    folder = os.path.realpath(os.path.dirname(os.fspath(path)) or ".")
    if any(folder == system or folder.startswith(system + "/") for system in SYSTEM_FOLDERS):
        raise Refused(f"{_one_line(path)} is in {_one_line(folder)}, where no output is written beside it: "
                      f"give {option}")
    return os.path.splitext(os.fspath(path))[0] + suffix


def output_folder(path, create: bool = True) -> None:
    """A folder the tool writes into: a real folder (not a link to one, the last component), made
    with its parents when absent. Refused when it is anything else."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            raise Refused(f"no folder {_one_line(path)}") from None
        try:
            os.makedirs(path)
        except FileExistsError:
            return output_folder(path, create=False)
        except OSError as error:
            raise Refused(f"cannot make the folder {_one_line(path)} ({error.strerror})") from None
        return
    except OSError as error:
        raise Refused(f"cannot use the folder {_one_line(path)} ({error.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise Refused(f"{_one_line(path)} is {_kind(st.st_mode)}, not a folder")


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


_libc = None


def _renameat2():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        except OSError:
            _libc = False
    return getattr(_libc, "renameat2", None) if _libc else None


def rename_noreplace(source, target) -> None:
    """Renames source to target unless target exists (FileExistsError then, and source stays):
    renameat2(RENAME_NOREPLACE), or where the kernel or the file system lacks it, link + unlink."""
    function = _renameat2()
    if function is not None:
        at_fdcwd, rename_noreplace_flag = -100, 1
        if function(at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), rename_noreplace_flag) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), os.fsdecode(target))
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), os.fsdecode(target))
    os.link(source, target, follow_symlinks=False)  # EEXIST when anything is at target
    os.unlink(source)


class AtomicOutput:
    """with AtomicOutput(path, overwrite) as out: write to out.fd / out.file() / out.h5_name;
    on success the file is moved to `path` (see the module's rules), on any failure removed."""

    def __init__(self, path, overwrite: bool = False):
        self.path = os.fspath(path)
        self.overwrite = overwrite
        self.fd = -1
        self.tmp = None
        self._file = None

    def __enter__(self):
        check_output(self.path, self.overwrite)
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for _ in range(100):
            tmp = f"{self.path}.partial.{secrets.token_hex(4)}"
            try:
                self.fd = os.open(tmp, flags, 0o600)
            except FileExistsError:
                continue
            except OSError as error:
                raise Refused(f"cannot write {_one_line(tmp)} ({error.strerror})") from None
            self.tmp = tmp
            return self
        raise Refused(f"cannot make a fresh temporary name beside {_one_line(self.path)}")

    def file(self, mode: str = "w", encoding: str | None = "utf-8", newline=None):
        """A Python file object on the temporary file (closed by the context)."""
        if self._file is None:
            if "b" in mode:
                self._file = os.fdopen(os.dup(self.fd), "w+b")
            else:
                self._file = os.fdopen(os.dup(self.fd), "w", encoding=encoding, newline=newline)
        return self._file

    @property
    def h5_name(self):
        """A name under which HDF5 opens exactly the created file (no second lookup of tmp)."""
        proc = f"/proc/self/fd/{self.fd}"
        return proc if os.path.exists(proc) else None

    def _cleanup(self):
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def __exit__(self, kind, value, traceback):
        try:
            if self._file is not None:
                self._file.flush()
            if kind is None:
                os.fchmod(self.fd, 0o666 & ~_umask())
            self._cleanup()
            if kind is not None:
                return False
            # the target is checked again: something may have appeared at it meanwhile
            if self.overwrite:
                check_output(self.path, True)
                os.replace(self.tmp, self.path)
            else:
                try:
                    rename_noreplace(self.tmp, self.path)
                except FileExistsError:
                    raise Refused(f"{_one_line(self.path)} appeared while it was being written; kept it "
                                  "(the result was not written)") from None
            self.tmp = None
            return False
        finally:
            self._cleanup()
            if self.tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.tmp)
                self.tmp = None


def write_bytes(path, data: bytes, overwrite: bool = False) -> None:
    with AtomicOutput(path, overwrite) as out:
        out.file("wb").write(data)


def write_text(path, text: str, overwrite: bool = False) -> None:
    write_bytes(path, text.encode("utf-8"), overwrite)


@contextlib.contextmanager
def h5_output(path, overwrite: bool = False):
    """An h5py.File ("w") written into the exclusively created temporary file."""
    import h5py

    with AtomicOutput(path, overwrite) as out:
        name = out.h5_name
        if name is not None:
            handle = h5py.File(name, "w")
        else:  # no /proc: HDF5 writes through a Python file object on the descriptor
            handle = h5py.File(out.file("wb"), "w")
        try:
            yield handle
        finally:
            handle.close()


def save_figure(fig, path, overwrite: bool = True, **kwargs) -> str:
    """matplotlib's savefig into an AtomicOutput (the format from the name's extension)."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".") or "png"
    with AtomicOutput(path, overwrite) as out:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, **kwargs)
        out.file("wb").write(buffer.getvalue())
    return os.fspath(path)
