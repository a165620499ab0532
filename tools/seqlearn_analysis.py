"""Compatibility name: the reading code and the measures live in the package python/seqlearn
(seqlearn.reader, seqlearn.analysis); `import seqlearn_analysis` gives seqlearn.analysis."""
import os
import sys

_here = os.path.dirname(os.path.realpath(__file__))
for _candidate in (os.path.join(_here, "..", "python"), os.path.join(_here, "..", "share", "seqlearn", "python")):
    if os.path.isfile(os.path.join(_candidate, "seqlearn", "__init__.py")):
        sys.path.insert(0, os.path.normpath(_candidate))
        break

import seqlearn.analysis as _analysis  # noqa: E402

sys.modules[__name__] = _analysis
