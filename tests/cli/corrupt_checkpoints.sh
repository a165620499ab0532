#!/usr/bin/env bash
# Corrupt and edited checkpoints (issue 9, D5, D7, D11): a small checkpoint is made, copies are
# corrupted with h5py (flipped bytes, out-of-range values, missing or reshaped datasets, wrong
# attribute types, a truncated file, ...), and each is restored at 1 and 2 ranks. Each must
# end with exit code 2, exactly one line from the program naming the dataset or attribute,
# no output file, and no hang. Then D5: a checkpoint restored with fewer
# input.pattern_sequences than it was written with runs.
# Usage: corrupt_checkpoints.sh SEQLEARN_MPI
set -u
binary=${1:?usage: corrupt_checkpoints.sh SEQLEARN_MPI (the program to test; no default)}
[[ -x "$binary" ]] || { echo "FAIL no program at $binary"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
base=(--network.grid 3x3 --record.neurons all --threads 1)
mpirun -n 2 --oversubscribe "$binary" "${base[@]}" --network.delay 3 --run.protocol train:200 \
  --output.checkpoint_every_ms 200 --output good.h5 </dev/null >/dev/null 2>&1 ||
  { echo "FAIL could not make the checkpoint"; exit 1; }
[[ -f good.ckpt.h5 ]] || { echo "FAIL no checkpoint"; exit 1; }

# The corruptions: NAME, what the message must name, and the Python that makes it (on `f`, the
# copy opened with h5py, or on `path` with f closed when the name starts with raw_).
/usr/bin/python3 - <<'PY' || { echo "FAIL could not corrupt the checkpoint"; exit 1; }
import shutil, h5py, numpy as np

def copy(name):
    shutil.copy("good.ckpt.h5", name + ".ckpt.h5")
    return name + ".ckpt.h5"

def edit(name, change):
    with h5py.File(copy(name), "r+") as f:
        change(f)

def set_attr(obj, name, value):
    def change(f):
        f[obj].attrs[name] = value
    return change

def replace(path, values):
    def change(f):
        attrs = dict(f[path].attrs)
        del f[path]
        f[path] = values
        for k, v in attrs.items():
            f[path].attrs[k] = v
    return change

def set_element(path, index, value):
    def change(f):
        data = f[path][()]
        data[index] = value
        f[path][index] = data[index]
    return change

def flip_bytes(name, path, element, count):
    # Flip `count` low-order bytes of one element in place, in the file's raw bytes.
    with h5py.File("good.ckpt.h5", "r") as f:
        ds = f[path]
        offset = ds.id.get_offset() + element * ds.dtype.itemsize
    p = copy(name)
    with open(p, "r+b") as raw:
        raw.seek(offset)
        data = bytearray(raw.read(count))
        raw.seek(offset)
        raw.write(bytes(b ^ 0x5A for b in data))

with h5py.File("good.ckpt.h5", "r") as f:
    step = int(f["checkpoint"].attrs["step"])
    n_pending = f["pending/step"].shape[0]
    assert n_pending > 0, "the test needs spikes in flight (network.delay > 1)"
    weights = f["synapses/weight"].shape[0]

flip_bytes("flipped_weight", "synapses/weight", weights // 2, 4)
flip_bytes("flipped_pending", "pending/amplitude", 0, 4)
edit("negative_step", set_attr("checkpoint", "step", np.int64(-5)))
edit("huge_step", set_attr("checkpoint", "step", np.int64(2**62)))
edit("huge_source", set_element("pending/source", 0, np.uint64(2**40)))
edit("late_pending", set_element("pending/step", 0, np.int64(step + 1000)))
edit("missing_dataset", lambda f: f.__delitem__("sources/stp_R"))
edit("wrong_shape", replace("neurons/readout", np.zeros(7)))
edit("two_d", replace("synapses/variance_tracking_mean", np.zeros((weights, 2))))
edit("wrong_type", set_attr("checkpoint", "generator_warp", "fast"))
edit("string_step", set_attr("checkpoint", "step", "twelve"))
edit("missing_attribute", lambda f: f["checkpoint"].attrs.__delitem__("learning_steps"))
edit("nan_weight", set_element("synapses/weight", 3, np.nan))
edit("stp_R_above_one", set_element("sources/stp_R", 0, 2.0))
edit("future_spike", set_element("sources/last_spike", 1, np.int64(step + 50)))
edit("float_last_spike", lambda f: replace("sources/last_spike", f["sources/last_spike"][()].astype(np.float64))(f))
edit("missing_checksum", lambda f: f["neurons/weighted_decay"].attrs.pop("checksum", None))
edit("edited_config", set_attr("config", "plasticity.eta", "0.5"))
edit("edited_generator", set_attr("checkpoint", "generator_sequence", np.int64(7)))
p = copy("truncated")
size = __import__("os").path.getsize(p)
with open(p, "r+b") as raw:
    raw.truncate(size // 2)
PY

# NAME and what its one line must contain.
cases=(
  "flipped_weight:/synapses/weight"
  "flipped_pending:/pending/amplitude"
  "negative_step:/checkpoint:step"
  "huge_step:/checkpoint:step"
  "huge_source:/pending/source"
  "late_pending:/pending/step"
  "missing_dataset:/sources/stp_R"
  "wrong_shape:/neurons/readout"
  "two_d:/synapses/variance_tracking_mean"
  "wrong_type:/checkpoint:generator_warp"
  "string_step:/checkpoint:step"
  "missing_attribute:/checkpoint:learning_steps"
  "nan_weight:/synapses/weight"
  "stp_R_above_one:/sources/stp_R"
  "future_spike:/sources/last_spike"
  "float_last_spike:/sources/last_spike"
  "missing_checksum:/neurons/weighted_decay"
  "edited_config:/config"
  "edited_generator:/checkpoint"
  "truncated:--restore"
)
# restore_case NAME EXPECT NP: one restore, its verdict in verdict_NAME_NP.
restore_case() {
  local name=$1 expect=$2 np=$3 out="out_$1_$3.h5" log="log_$1_$3" code lines
  timeout 60 mpirun -n "$np" --oversubscribe "$binary" --restore "$name.ckpt.h5" \
    --run.protocol train:100 --output "$out" </dev/null >/dev/null 2>"$log"
  code=$?
  lines=$(grep -c '^seqlearn_mpi' "$log")
  if [[ $code -ne 2 ]]; then
    echo "FAIL $name np $np: exit code $code, expected 2"; sed 's/^/    /' "$log" | head -5
  elif [[ $lines -ne 1 ]] || ! grep '^seqlearn_mpi' "$log" | grep -qF -- "$expect"; then
    echo "FAIL $name np $np: expected one line naming '$expect', got:"; grep "^seqlearn_mpi" "$log" | sed 's/^/    /'
  elif compgen -G "$out*" >/dev/null; then
    echo "FAIL $name np $np: an output file was written"
  else
    echo "ok   $name np $np: $(grep '^seqlearn_mpi' "$log")"
  fi >"verdict_${name}_$np"
}
# The restores mostly wait for mpirun to start: four at a time.
for entry in "${cases[@]}"; do
  for np in 1 2; do
    while (($(jobs -rp | wc -l) >= 4)); do wait -n; done
    restore_case "${entry%%:*}" "${entry#*:}" "$np" &
  done
done
wait
for entry in "${cases[@]}"; do
  for np in 1 2; do
    verdict="verdict_${entry%%:*}_$np"
    if [[ -s "$verdict" ]]; then cat "$verdict"; else echo "FAIL ${entry%%:*} np $np: no verdict"; fi
    grep -q '^ok' "$verdict" 2>/dev/null || failures=$((failures + 1))
  done
done

# The intact checkpoint still restores, at 1 and 2 ranks.
for np in 1 2; do
  if mpirun -n "$np" --oversubscribe "$binary" --restore good.ckpt.h5 --run.protocol train:100 \
    --output "intact_$np.h5" </dev/null >/dev/null 2>stderr; then
    echo "ok   intact checkpoint np $np"
  else
    echo "FAIL intact checkpoint np $np:"; sed 's/^/    /' stderr | head -5; failures=$((failures + 1))
  fi
done

# D5: input.pattern_sequences may change on restore. A checkpoint taken inside a presentation
# of the second sequence (of "0;0"; steps 1872-2171 with the default seed) restored with one
# sequence into new phases must run. (Continuing a cut phase: tests/test_input.cpp.)
mpirun -n 1 "$binary" "${base[@]}" --run.protocol train:2000 \
  --output.checkpoint_every_ms 2000 --output seq.h5 </dev/null >/dev/null 2>&1
for np in 1 2; do
  timeout 60 mpirun -n "$np" --oversubscribe "$binary" --restore seq.ckpt.h5 --input.pattern_sequences 0 \
    --run.protocol train:300 --output "seq_$np.h5" </dev/null >/dev/null 2>stderr
  code=$?
  if [[ $code -eq 0 ]]; then
    echo "ok   D5: fewer pattern_sequences on restore into new phases, np $np"
  else
    echo "FAIL D5: new phases with fewer pattern_sequences, np $np: exit $code"; sed 's/^/    /' stderr | head -5
    failures=$((failures + 1))
  fi
done
echo "$failures failed"
[[ $failures -eq 0 ]]
