"""The package's dependencies (pyproject.toml has the rest): h5py, numpy and matplotlib.
Debian's python3-h5py registers itself as h5py._debian_h5py_serial (or _mpi), not as h5py, so
pip would look for "h5py" in a registry although h5py imports; when such a distribution is
installed where the package is built (pip install --no-build-isolation), it is required instead."""
from importlib import metadata

from setuptools import setup


def h5py_requirement():
    for name in ("h5py", "h5py._debian_h5py_serial", "h5py._debian_h5py_mpi"):
        try:
            metadata.distribution(name)
            return name
        except metadata.PackageNotFoundError:
            continue
    return "h5py"


setup(install_requires=[h5py_requirement(), "numpy", "matplotlib"])
