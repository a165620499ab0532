"""Tests of the report tools of docs/replication.md's reference part (issue 19):
tools/xor_pattern_figure.py (the xor_pattern table and figure over seeds and variants) and
tools/paper_report.py's warp and multi rows, on analysis JSONs written here with known
numbers."""
import json
import os
import subprocess

import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
PYTHON = "/usr/bin/python3"


def blocks(values):
    """Readout blocks every 5 s of training with the given (network, input) values."""
    return [{"trained_ms": 5000.0 * i, "network": n, "input": x} for i, (n, x) in enumerate(values)]


def xor_pattern_json(folder, name, seed, xor_network):
    """An xor_pattern analysis: 7 blocks; XOR network = xor_network[i], input 0; memory 0.5 / 0;
    pattern 0.7 / 0.5; reproducibility 0.9."""
    values = list(zip(xor_network, [0.0] * len(xor_network)))
    result = {
        "readout_xor": {"blocks": blocks(values)},
        "readout_memory": {"blocks": blocks([(0.5, 0.0)] * len(values))},
        "readout_pattern": {"blocks": blocks([(0.7, 0.5)] * len(values))},
        "reproducibility_reference": {"phases": [{"trained_ms": 5000.0 * i, "corr_1_2": 0.9}
                                                 for i in range(len(values))]},
        "untrained": {"locking": {"locked_fraction": 0.0}},
        "trained": {"locking": {"locked_fraction": 0.8}},
    }
    (folder / f"{name}_seed{seed}.analysis.json").write_text(json.dumps(result))


def test_xor_pattern_figure_table_and_figure(tmp_path):
    for seed, shift in ((1, 0.0), (2, 0.1)):
        xor_pattern_json(tmp_path, "as_configured", seed, [0.6 + shift, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0 + shift])
        xor_pattern_json(tmp_path, "fixed_inputs", seed, [0.6] * 7)
    xor_pattern_json(tmp_path, "p_conn_1", 1, [0.5] * 7)
    xor_pattern_json(tmp_path, "other_experiment", 1, [0.0] * 7)  # not a variant: ignored
    figure = tmp_path / "fig.png"
    out = subprocess.run([PYTHON, os.path.join(TOOLS, "xor_pattern_figure.py"), str(tmp_path), str(figure)],
                         capture_output=True, text=True, check=True).stdout
    lines = {tuple(c.strip() for c in line.strip("|").split("|")[:4]): line for line in out.splitlines()
             if line.startswith("| input synapses") or line.startswith("| p_conn")}
    xor = lines[("input synapses learning (p_conn 0.1)", "2", "xor", "network")]
    # before: 0.6, 0.7; after: 0.0, 0.1; last five blocks: means 0.2 and 0.22
    assert "0.65 ± 0.07" in xor and "0.05 ± 0.07" in xor and "0.21 ± 0.01" in xor, xor
    assert "0.60 ± 0.00" in lines[("input synapses fixed (train_inputs false)", "2", "xor", "network")]
    assert ("p_conn 1", "1", "xor", "network") in lines
    assert not any("other_experiment" in line for line in out.splitlines())
    assert figure.stat().st_size > 10000


def test_xor_pattern_figure_without_runs_says_so(tmp_path):
    done = subprocess.run([PYTHON, os.path.join(TOOLS, "xor_pattern_figure.py"), str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no VARIANT_seedN.analysis.json" in done.stderr


@pytest.mark.parametrize("seeds", [(1, 2)])
def test_paper_report_warp_and_multi_rows(tmp_path, seeds):
    for seed in seeds:
        warp = {"warp_min": 0.5, "warp_max": 2.0, "scaling_r": 0.8 + 0.1 * (seed - 1), "scaling_neurons": 100}
        result = {"untrained": {"locking": {"locked_fraction": 0.0}},
                  "trained": {"locking": {"locked_fraction": 0.9}, "warp": warp}}
        (tmp_path / f"pattern4A_seed{seed}.analysis.json").write_text(json.dumps(result))
        rate = {"network": 0.3, "input": 0.9, "n_fit": 2500, "before": None}
        multi = {f"readout_{t}": rate for t in ("rate_1", "rate_2", "rate_product", "rate_product_delayed")}
        (tmp_path / f"multi_seed{seed}.analysis.json").write_text(json.dumps(multi))
    out = subprocess.run([PYTHON, os.path.join(TOOLS, "paper_report.py"), str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout
    warp_rows = [line for line in out.splitlines() if line.startswith("| pattern4A |") and "0.50 ± 0.00" in line]
    assert warp_rows and "0.85 ± 0.07 (100 ± 0)" in warp_rows[0], out
    for target in ("rate_1", "rate_2", "rate_product", "rate_product_delayed"):
        assert f"| multi | 2 | {target} | 0.30 ± 0.00 | 0.90 ± 0.00 |" in out, out
