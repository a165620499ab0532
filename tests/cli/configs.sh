#!/usr/bin/env bash
# The shipped configs run from a clean clone (issue 11: "the six configs run and analyse"):
#  1. every configs/*.ini and configs/paper/*.ini is accepted (a 10 ms run with its keys);
#  2. every configs/paper/*.ini runs as shipped (1 rank, seed 1) and tools/seqlearn-analyze,
#     without arguments, gives the measures its experiment is for (docs/replication.md):
#     readouts before and after training on equally many samples, XOR and memory from the
#     network state above the input state's on the fixed random network, 21 points of the
#     xor_pattern curves, the reference code's reproducibility where p is traced.
# Usage: configs.sh SEQLEARN_MPI
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck shell=bash source=lib.sh
source "$here/lib.sh"
cli_begin configs.sh "${1:-}"
# shellcheck source=../../scripts/python.sh
source "$root/scripts/python.sh"
seqlearn_python || exit 1

for config in "$root"/configs/*.ini "$root"/configs/paper/*.ini; do
  name=$(basename "$(dirname "$config")")_$(basename "$config" .ini)
  # From the repository root, as the docs run them (configs name files relative to it).
  (cd "$root" && timeout 120 mpirun -n 1 "$binary" --config "$config" --run.protocol test:10 \
    --output "$work/parse_$name.h5") >"parse_$name.log" 2>&1
  check "$config is accepted" test $? -eq 0
done

for config in "$root"/configs/paper/*.ini; do
  name=$(basename "$config" .ini)
  timeout 600 mpirun -n 1 "$binary" --config "$config" --threads 1 --output "$name.h5" >"$name.log" 2>&1
  check "configs/paper/$name.ini runs" test $? -eq 0
  timeout 300 "$SEQLEARN_PYTHON" "$root/tools/seqlearn-analyze" "$name.h5" >"$name.analysis.txt" 2>&1
  check "configs/paper/$name.ini analyses without arguments" test $? -eq 0
done

check "each paper experiment gives its measures" "$SEQLEARN_PYTHON" - <<'PY'
import json, math, sys
failed = []
def need(ok, what):
    if not ok:
        failed.append(what)
def load(name):
    with open(f"{name}.analysis.json") as f:
        return json.load(f)
def finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)
# Readouts before and after training, fitted on equally many samples.
for name, target in (("pattern1", "pattern"), ("sequence_parts", "sequence"), ("no_stp", "pattern"),
                     ("no_variance_tracking", "pattern")):
    r = load(name)[f"readout_{target}"]
    need(r is not None and r["before"] is not None, f"{name}: readout_{target} before and after training")
    if r and r["before"]:
        need(finite(r["network"]) and finite(r["before"]["network"]), f"{name}: scores are numbers")
        need(r["n_fit"] == r["before"]["n_fit"] > 100, f"{name}: equal fit samples ({r['n_fit']}, {r['before']['n_fit']})")
# The fixed random network computes XOR and memory; the input state cannot.
x = load("xor")
for target in ("xor", "memory"):
    r = x[f"readout_{target}"]
    need(r["n_fit"] >= 900 and r["n_score"] >= 250, f"xor: {target} fitted on the 50 s phase ({r['n_fit']})")
    need(r["network"] > r["input"] + 0.2, f"xor: {target} network {r['network']:.2f} > input {r['input']:.2f} + 0.2")
# xor_pattern: 21 points (before training and after each of 20 training phases) of each curve.
xp = load("xor_pattern")
for target in ("xor", "memory"):
    blocks = xp[f"readout_{target}"]["blocks"]
    need(len(blocks) == 21, f"xor_pattern: {len(blocks)} {target} blocks, 21 expected")
    need([b["trained_ms"] for b in blocks] == [5000.0 * i for i in range(21)], f"xor_pattern: {target} training times")
    need(all(len(b["score_phases"]) == 3 for b in blocks), f"xor_pattern: {target} scored on three 3 s phases per block")
phases = xp["reproducibility_reference"]["phases"]
need(len(phases) == 21, f"xor_pattern: {len(phases)} reproducibility points, 21 expected")
need(finite(xp["reproducibility_reference"]["corr_1_2"]), "xor_pattern: reproducibility after training")
need(finite(load("pattern1")["reproducibility_reference"]["corr_1_3"]), "pattern1: reproducibility 1 vs 3")
# pattern4A / pattern5A: time-warped test phases, readouts before and after training, the warp measure.
for name in ("pattern4A", "pattern5A"):
    a = load(name)
    for target in ("pattern", "sequence"):
        r = a[f"readout_{target}"]
        need(r is not None and r["before"] is not None and r["n_fit"] == r["before"]["n_fit"] == 150,
             f"{name}: readout_{target} before and after training on 150 samples each")
    w = (a["trained"] or {}).get("warp")
    need(w is not None and w["warp_min"] < 0.8 and w["warp_max"] > 1.5 and finite(w["scaling_r"]),
         f"{name}: warped test phases and their warp measure ({w})")
# multi: the rates of the input groups from the network state, fitted on the 50 s phase.
m = load("multi")
for target in ("rate_1", "rate_2", "rate_product", "rate_product_delayed"):
    r = m[f"readout_{target}"]
    need(r is not None and r["n_fit"] >= 2400 and r["n_score"] == 60, f"multi: {target} fitted on the 50 s phase ({r and r['n_fit']})")
    need(r is not None and finite(r["network"]) and finite(r["input"]), f"multi: {target} scores are numbers")
need(m["readout_rate_1"]["input"] > 0.5, "multi: the input state reads out a group's rate")
# Without STP: persistent states.
dwell = load("no_stp")["trained"]["persistence"]["mean_dwell_ms"]
need(dwell > 100, f"no_stp: winner dwell {dwell:.0f} ms, persistent states expected (> 100 ms)")
for what in failed:
    print("  " + what)
sys.exit(1 if failed else 0)
PY
cli_end "configs"
