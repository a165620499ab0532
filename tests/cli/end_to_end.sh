#!/usr/bin/env bash
# The command-line program end to end: the same run at 1, 2 and 3 ranks and with 2 threads
# writes identical HDF5 content (h5diff over every group but /config and /run, which hold the
# rank count and timings); an existing result is never overwritten without --overwrite;
# --help and --version work.
# Usage: end_to_end.sh SEQLEARN_MPI
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_begin end_to_end.sh "${1:-}"
args=(--run.protocol train:3000,test:1000 --record.dt_rec 10 --network.grid 6x5)

check "np=1 run" mpirun -n 1 "$binary" "${args[@]}" --threads 1 --output "$work/np1.h5"
check "np=2 run" mpirun -n 2 --oversubscribe "$binary" "${args[@]}" --threads 1 --output "$work/np2.h5"
check "np=3 run" mpirun -n 3 --oversubscribe "$binary" "${args[@]}" --threads 1 --output "$work/np3.h5"
check "np=1, 2 threads run" mpirun -n 1 "$binary" "${args[@]}" --threads 2 --output "$work/t2.h5"
for other in np2 np3 t2; do
  for group in /network /spikes /input /phases /traces; do
    check "$other $group identical to np1" h5diff "$work/np1.h5" "$work/$other.h5" "$group" "$group"
  done
done
# docs/model.md 11.1: a pruned, partly trained network at 1 and 2 ranks and 1 rank x 2 threads:
# every dataset but /config and /run bit-identical (h5py; h5diff would also compare attributes
# that hold the rank count). record.trace_phases = test: traces only at test-phase steps.
pruned=(--run.protocol train:2000,test:1000,train:500,test:500 --record.dt_rec 10 --network.grid 6x5
  --network.p_conn 0.3 --network.train_fraction 0.5 --record.trace_phases test)
check "pruned np=1 run" mpirun -n 1 "$binary" "${pruned[@]}" --threads 1 --output "$work/p1.h5"
check "pruned np=2 run" mpirun -n 2 --oversubscribe "$binary" "${pruned[@]}" --threads 1 --output "$work/p2.h5"
check "pruned np=1, 2 threads run" mpirun -n 1 "$binary" "${pruned[@]}" --threads 2 --output "$work/pt2.h5"
same_datasets() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
def datasets(f):
    out = {}
    f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset)
                 and n.split("/")[0] not in ("config", "run") else None)
    return out
da, db = datasets(a), datasets(b)
assert da.keys() == db.keys(), sorted(set(da) ^ set(db))
bad = [n for n in da if np.asarray(da[n]).tobytes() != np.asarray(db[n]).tobytes()
       or np.asarray(da[n]).shape != np.asarray(db[n]).shape]
assert not bad, bad
assert len(da) > 20, sorted(da)
PY
}
check "pruned np=2 datasets identical to np=1" same_datasets "$work/p1.h5" "$work/p2.h5"
# Tiles (run.partition): 2x2 rectangles of the 6x5 grid, a run of circuit ids per grid row, so
# every dataset is written in slices; the file is the same.
check "pruned np=4 tiles run" mpirun -n 4 --oversubscribe "$binary" "${pruned[@]}" --threads 1 \
  --run.partition tiles --output "$work/ptiles.h5"
check "pruned np=4 ran on 2x2 tiles" bash -c "h5dump -a /run/partition_bands '$work/ptiles.h5' | grep -q '(0): 2'"
check "pruned np=4 tiles datasets identical to np=1" same_datasets "$work/p1.h5" "$work/ptiles.h5"
# A tall grid in tiles with a long delay: 3,000 grid rows x 100 steps are more buckets than an
# exchange has spikes, so the exchange sorts the spikes by their words instead (receive_exchange).
tall=(--network.grid 3000x1 --network.connectivity fixed_indegree --network.delay 100
      --run.protocol train:400 --record.dt_rec 50 --threads 1)
check "tall grid, delay 100: np=1 run" "$binary" "${tall[@]}" --output "$work/tall1.h5"
check "tall grid, delay 100: np=4 tiles, directed" mpirun -n 4 --oversubscribe "$binary" "${tall[@]}" \
  --run.partition tiles --run.exchange directed --output "$work/tall4.h5"
check "tall grid, delay 100: np=4 tiles datasets identical to np=1" same_datasets "$work/tall1.h5" "$work/tall4.h5"
check "pruned 2 threads datasets identical to np=1" same_datasets "$work/p1.h5" "$work/pt2.h5"
check "pruned run: some circuits untrained, synapses pruned, traces only in test phases" \
  /usr/bin/python3 - "$work/p1.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
trained = f["network/circuit_trained"][:]
assert trained.dtype == np.uint8 and trained.shape == (30,) and 0 < trained.sum() < 30, trained
pre, post = f["network/synapses/pre"][:], f["network/synapses/post"][:]
recurrent = (pre >= 100).sum()
sizes = f["network/circuit_size"][:]
dense = sum(int(sizes[a]) * int(sizes[b]) for a, b in
            zip(f["network/circuit_pairs/pre"][:], f["network/circuit_pairs/post"][:]))
assert 0.2 * dense < recurrent < 0.4 * dense, (recurrent, dense)
steps = f["traces/step"][:]
expected = np.r_[np.arange(2000, 3000, 10), np.arange(3500, 4000, 10)]
assert np.array_equal(steps, expected), steps
assert f["traces/p"].shape[0] == len(expected) and f["traces/weight"].shape[0] == len(expected)
# Untrained circuits' synapses keep w = log U(0,1) < 0 with S = 0, Q = 1.
circuit_of = f["network/circuit_of"][:]
untrained = trained[circuit_of[post]] == 0
assert (f["network/synapses/variance_tracking_mean"][:][untrained] == 0).all()
assert (f["network/synapses/variance_tracking_second_moment"][:][untrained] == 1).all()
assert (f["network/synapses/weight"][:][untrained] < 0).all()
assert (f["network/synapses/variance_tracking_mean"][:][~untrained] != 0).mean() > 0.9
PY
# The pruned network checkpointed by 2 ranks and restored on 1 continues bit-identically.
restore_args=(--record.dt_rec 0 --network.grid 6x5 --network.p_conn 0.3 --network.train_fraction 0.5)
check "pruned: whole run" mpirun -n 1 "$binary" "${restore_args[@]}" --run.protocol train:2000,test:1000 \
  --output "$work/whole.h5"
check "pruned: first part on 2 ranks" mpirun -n 2 --oversubscribe "$binary" "${restore_args[@]}" \
  --run.protocol train:2000 --output.checkpoint_every_ms 2000 --output "$work/first.h5"
check "pruned: restored on 1 rank" mpirun -n 1 "$binary" --restore "$work/first.ckpt.h5" \
  --run.protocol test:1000 --output "$work/rest.h5"
check "pruned: restored run identical to the whole run" /usr/bin/python3 - "$work/whole.h5" "$work/rest.h5" <<'PY'
import sys, h5py, numpy as np
w, r = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
keep = w["spikes/step"][:] >= 2000
for name in ("step", "neuron"):
    assert np.array_equal(w["spikes/" + name][:][keep], r["spikes/" + name][:]), name
assert keep.sum() > 100
for name in ("pre", "post", "weight", "variance_tracking_mean"):
    assert w["network/synapses/" + name][:].tobytes() == r["network/synapses/" + name][:].tobytes(), name
assert np.array_equal(w["network/circuit_trained"][:], r["network/circuit_trained"][:])
PY
# A checkpoint of 2x2 tiles restored on 3 ranks of strips: the same continuation.
check "pruned: first part on 4 ranks of tiles" mpirun -n 4 --oversubscribe "$binary" "${restore_args[@]}" \
  --run.protocol train:2000 --output.checkpoint_every_ms 2000 --run.partition tiles \
  --output "$work/first_tiles.h5"
check "pruned: restored on 3 ranks of strips" mpirun -n 3 --oversubscribe "$binary" \
  --restore "$work/first_tiles.ckpt.h5" --run.partition strips --run.protocol test:1000 \
  --output "$work/rest_strips.h5"
check "pruned: tiles' checkpoint continued on strips identical to the whole run" same_datasets \
  "$work/rest.h5" "$work/rest_strips.h5"
check "np=2 without traces or synapse list" mpirun -n 2 --oversubscribe "$binary" --run.protocol train:500 \
  --record.dt_rec 0 --record.synapses false --output "$work/bare.h5"
check "bare file has empty traces" bash -c "h5ls '$work/bare.h5/traces' | grep -q 'u .*Dataset {0, 20}'"
check "no partial file left" test ! -e "$work/np1.h5.partial"
check "spikes were written" bash -c "h5ls '$work/np1.h5/spikes' | grep -q 'step .*Dataset {[1-9]'"

before=$(md5sum <"$work/np1.h5")
mpirun -n 2 --oversubscribe "$binary" "${args[@]}" --output "$work/np1.h5" >/dev/null 2>"$work/err"
code=$?
check "existing output refused with exit 2" test $code -eq 2
check "refusal names output.file" grep -q "output.file" "$work/err"
check "existing output unchanged" test "$before" = "$(md5sum <"$work/np1.h5")"
check "--overwrite replaces it" mpirun -n 1 "$binary" "${args[@]}" --seed 5 --output "$work/np1.h5" --overwrite
check "replaced file differs" test "$before" != "$(md5sum <"$work/np1.h5")"
check "--help exits 0 and lists keys" bash -c "'$binary' --help | grep -q 'network.grid'"
check "--version" bash -c "'$binary' --version | grep -q 'seqlearn_mpi'"
# Forced spikes on --restore (hostile round of issue 16): the file's steps are absolute. A
# validation run cut by a checkpoint continues with the file of its second part or with the
# whole run's file (steps before the checkpoint skipped), as the uninterrupted run.
forced_common=(--network.grid 4x3 --network.n_inputs 40 --record.neurons all)
{
  echo "source,id,step"
  for s in $(seq 0 3 597); do
    echo "input,$((s % 40)),$s"
    echo "neuron,$((s * 7 % 73)),$((s + 1))"
  done
} >"$work/forced.csv"
{ echo "source,id,step"; awk -F, 'NR > 1 && $3 < 300' "$work/forced.csv"; } >"$work/forced_a.csv"
{ echo "source,id,step"; awk -F, 'NR > 1 && $3 >= 300' "$work/forced.csv"; } >"$work/forced_b.csv"
check "forced: the whole run" mpirun -n 2 --oversubscribe "$binary" "${forced_common[@]}" \
  --validation.forced_spikes "$work/forced.csv" --run.protocol train:300,test:300 \
  --output "$work/forced_full.h5"
check "forced: the first part, checkpointed" mpirun -n 2 --oversubscribe "$binary" \
  "${forced_common[@]}" --validation.forced_spikes "$work/forced_a.csv" --run.protocol train:300 \
  --output.checkpoint_every_ms 300 --output "$work/forced_1.h5"
check "forced: restored with the second part's file" mpirun -n 2 --oversubscribe "$binary" \
  --restore "$work/forced_1.ckpt.h5" --run.protocol test:300 \
  --validation.forced_spikes "$work/forced_b.csv" --output "$work/forced_2b.h5"
check "forced: restored with the whole run's file" mpirun -n 1 "$binary" \
  --restore "$work/forced_1.ckpt.h5" --run.protocol test:300 \
  --validation.forced_spikes "$work/forced.csv" --output "$work/forced_2w.h5"
check "forced: both restored runs continue the whole one" /usr/bin/python3 - "$work" <<'PY'
import sys, h5py, numpy as np
work = sys.argv[1]
full = h5py.File(work + "/forced_full.h5", "r")
keep = full["spikes/step"][:] >= 300
assert keep.sum() > 50
for name in ("forced_2b", "forced_2w"):
    part = h5py.File(work + "/" + name + ".h5", "r")
    for column in ("step", "neuron"):
        assert np.array_equal(full["spikes/" + column][:][keep], part["spikes/" + column][:]), name
PY
mpirun -n 1 "$binary" --restore "$work/forced_1.ckpt.h5" --run.protocol test:200 \
  --validation.forced_spikes "$work/forced.csv" --output "$work/forced_x.h5" >"$work/forced_x.log" 2>&1
code=$?
check "forced: a step beyond the restored run's end is refused (exit 2, naming the range)" \
  bash -c "[[ $code -eq 2 ]] && grep -q \"outside the run's steps \\[0, 499\\]\" '$work/forced_x.log'"

cli_end "end-to-end"
