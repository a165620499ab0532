#!/usr/bin/env python3
"""The per-rank cost model of docs/scaling.md, fitted to measured runs, and its predictions.

    bench/scaling_model.py LINES [HALO]

LINES: a text file with one measured run per line as the program's closing `bench:` line
(key=value ...; bench/work_inflation.sh keeps them in OUT/GRID.tsv). HALO: bench/halo.sh's
output for the grid to predict (1000x1000 by default: its halo at 64-1024 ranks).

The model, per step, in CPU seconds of all ranks' step loops (compute_cpu_s_sum / steps):
    a * synapses            compute: every synapse's share of delivery and STDP at this rate
  + h * needed sources      the halo: M1/M6 for every source a rank listens to, summed, and
                            the handling of each of their spikes
  + w * received words      the walk: every word every rank received (bench/exchange_walk.sh:
                            W_SKIP_S for a word a rank does not need, W_KEEP_S for one it does)
a and h fitted by least squares over LINES' 256x256 runs (the walk is measured, not fitted);
the other runs (other grids) are shown against the fit. A rank's wall time per step adds the
collective:
    allgather  alpha * log2 R + beta * 16 B * W                     (every rank gets every word)
    directed   alpha * log2 R + alpha_p * L + beta * 16 B * W L / R   (L listeners per circuit:
               the control words' all-reduce, neighbour messages, the words to the listeners)
with W the words per step. alpha, beta, alpha_p are assumptions (see the doc), not fitted: the
measurements here are oversubscribed on 2 cores and time no network.
"""
import math
import re
import sys

import numpy as np

ALPHA_S = 2e-6        # per step of a collective (16-core VM: MPI_Allgather of 50 ints, 8 us at 16 ranks)
BETA_S_PER_B = 1e-10  # 10 GB/s per rank (assumed: a node's share of an InfiniBand HDR link)
ALPHA_PEER_S = 1e-6   # per point-to-point message of the directed exchange (assumed)
IMBALANCE = 1.05      # slowest rank / mean (measured 1.04-1.09 at 16-64 ranks)
W_SKIP_S = 1.5e-9     # bench/exchange_walk.sh, needed fraction 0
W_KEEP_S = 4.4e-9     # bench/exchange_walk.sh, needed fraction 1 (decoded and sorted by step)


def runs(path):
    out = []
    for line in open(path):
        fields = dict(kv.split("=", 1) for kv in re.findall(r"\S+=\S+", line))
        if "compute_cpu_s_sum" not in fields:
            continue
        steps = round(float(fields["simulated_s"]) / 1e-3)  # neuron.dt = 1 ms in every bench run
        out.append({"name": line.split()[0], "ranks": int(fields["ranks"]), "steps": steps,
                    "exchange": fields.get("exchange", "allgather"),
                    "cpu_per_step": float(fields["compute_cpu_s_sum"]) / steps,
                    "synapses": float(fields["synapses"]), "neurons": float(fields["neurons"]),
                    "needed": float(fields["halo"]) * float(fields["neurons"]),
                    "words_per_step": float(fields["received_words"]) / steps,
                    "spikes_per_step": float(fields["spikes"]) / steps})
    for p in out:  # every rank keeps the words of the spikes it needs: halo x spikes in all
        kept = min(p["words_per_step"], p["needed"] / p["neurons"] * p["spikes_per_step"])
        p["walk"] = W_KEEP_S * kept + W_SKIP_S * (p["words_per_step"] - kept)
    return out


def fit(points):
    fitted = [p for p in points if p["synapses"] == max(q["synapses"] for q in points)]
    design = np.array([[p["synapses"], p["needed"]] for p in fitted])
    cpu = np.array([p["cpu_per_step"] - p["walk"] for p in fitted])
    (a, h), *_ = np.linalg.lstsq(design, cpu, rcond=None)
    return a, h, [a * p["synapses"] + h * p["needed"] + p["walk"] for p in points]


def walk_s(words, kept):
    return W_KEEP_S * kept + W_SKIP_S * (words - kept)


def halo_table(path):
    table = {}
    for line in open(path):
        fields = dict(kv.split("=", 1) for kv in re.findall(r"\S+=\S+", line))
        if "strips_halo" in fields:
            table[int(fields["ranks"])] = (float(fields["strips_halo"]), float(fields["tiles_halo"]))
    return table


def main():
    points = runs(sys.argv[1])
    a, h, predicted = fit(points)
    print(f"fitted: a = {a * 1e9:.3f} ns per synapse and step, h = {h * 1e9:.2f} ns per needed "
          f"source and step; walk (measured): {W_SKIP_S * 1e9:.1f} ns per word not needed, "
          f"{W_KEEP_S * 1e9:.1f} ns per word kept\n")
    print("| run | ranks | exchange | CPU s / step, all ranks | model | model / measured |")
    print("|---|---|---|---|---|---|")
    for p, m in zip(points, predicted):
        print(f"| {p['name']} | {p['ranks']} | {p['exchange']} | {p['cpu_per_step'] * 1e3:.2f} ms | "
              f"{m * 1e3:.2f} ms | {m / p['cpu_per_step']:.3f} |")
    if len(sys.argv) < 3:
        return 0
    halos = halo_table(sys.argv[2])
    # 1000x1000: 6 neurons per circuit on average, the 256x256 grid's synapses per circuit,
    # every circuit firing at r_max = 100 Hz: 1e5 spikes per 1 ms step.
    base = max(points, key=lambda p: p["synapses"])
    circuits = 1e6
    neurons = circuits * base["neurons"] / 65536
    synapses = circuits * base["synapses"] / 65536
    words = circuits * 100 * 1e-3
    print(f"\n1000x1000 ({neurons:.3g} neurons, {synapses:.3g} synapses, {words:.3g} spikes per step); "
          f"per step, the slowest rank (x{IMBALANCE}); tiles: 2-D tiles, not yet a partition the "
          f"simulator offers:\n")
    print("| ranks | halo | exchange | compute ms | halo ms | walk ms | collective ms | step ms (RTF) | "
          "speedup vs 64 | work inflation |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    reference = None
    for ranks in sorted(halos):
        for partition, mode in (("strips", "allgather"), ("strips", "directed"), ("tiles", "directed")):
            halo = halos[ranks][0 if partition == "strips" else 1]
            listeners = halo  # ranks needing a circuit, on average (bench line: mean_listeners)
            received = words if mode == "allgather" else words * listeners / ranks
            compute = IMBALANCE * a * synapses / ranks
            trace = IMBALANCE * h * halo * neurons / ranks
            walk = walk_s(received, words * halo / ranks)
            log_r = math.log2(ranks)
            if mode == "allgather":
                collective = ALPHA_S * log_r + BETA_S_PER_B * 16 * words
            else:
                collective = (ALPHA_S * log_r + ALPHA_PEER_S * listeners
                              + BETA_S_PER_B * 16 * words * listeners / ranks)
            step = compute + trace + walk + collective
            inflation = ((a * synapses + h * halo * neurons + walk * ranks)
                         / (a * synapses + h * neurons + walk_s(words, words)))
            if reference is None:
                reference = (ranks, step)
            speedup = reference[1] / step
            print(f"| {ranks} | {partition} {halo:.2f} | {mode} | {compute * 1e3:.2f} | {trace * 1e3:.2f} | {walk * 1e3:.3f} | "
                  f"{collective * 1e3:.3f} | {step * 1e3:.2f} ({step / 1e-3:.2f}) | "
                  f"{speedup:.2f} (ideal {ranks / reference[0]:.0f}) | {inflation:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
