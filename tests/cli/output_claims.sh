#!/usr/bin/env bash
# Every file a run will write is claimed and checked before anything is simulated (issue 9):
#  1. two runs writing the same output: the second exits 2 naming output.file and the other
#     run, the first completes and the file holds its result (D6); a run whose output is the
#     other run's checkpoint is refused too;
#  2. an existing checkpoint file (also the default NAME.ckpt.h5) is never overwritten without
#     --overwrite, and the message names output.checkpoint_file (D3);
#  3. output and checkpoint are compared as files, not as text (D8: through a symlinked folder);
#  4. a checkpoint folder that does not exist is created like the output's, before the run
#     (D4: the final checkpoint is written);
#  5. --output newdir/ (a folder name) is refused before simulating, creating nothing (D10), and
#     so is an output whose NAME.partial is a folder;
#  6. a run refused after its folders were planned (bad record.neurons for the network, too
#     little space) leaves no folder or file behind (D18);
#  7. the default record.neurons fits small networks (D20: --network.grid 1x2 runs);
#  8. a lock left by a killed run (no process holds it) does not block the next run.
# Usage: output_claims.sh SEQLEARN_MPI
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_begin output_claims.sh "${1:-}"
says() { grep -q -- "$2" "$1" || { echo "    $1 says:"; sed 's/^/      /' "$1"; false; }; }
seed_of() {  # /config attributes are UTF-8 text (bytes in files written before)
  /usr/bin/python3 -c "import h5py,sys; v = h5py.File(sys.argv[1])['config'].attrs['run.seed']; print(v.decode() if isinstance(v, bytes) else v)" "$1"
}
quick=(--network.grid 3x3 --run.protocol train:100 --threads 1)

# 1. Two runs on one output. A runs for several seconds; B starts once A holds its claim
#    (its lock file), or after 3 s.
mpirun -n 1 "$binary" --network.grid 8x8 --threads 1 --seed 11 --run.protocol train:200000 \
  --record.dt_rec 0 --output same.h5 >a.log 2>&1 &
a=$!
for _ in $(seq 30); do [[ -e same.h5.lock ]] && break; sleep 0.1; done
timeout 60 mpirun -n 1 "$binary" "${quick[@]}" --seed 22 --output same.h5 >b.log 2>&1
code=$?
check "same output twice: the second run exits 2 (got $code)" test $code -eq 2
check "same output twice: it names output.file and the other run" says b.log "output.file 'same.h5'.*another run"
timeout 60 mpirun -n 1 "$binary" "${quick[@]}" --seed 22 --output other.h5 \
  --output.checkpoint_file same.h5 >c.log 2>&1
code=$?
check "checkpoint on another run's output: exit 2 (got $code)" test $code -eq 2
check "checkpoint on another run's output: names output.checkpoint_file" says c.log "output.checkpoint_file"
wait $a
code=$?
check "same output twice: the first run completes (got $code)" test $code -eq 0
check "same output twice: the file holds the first run's result" test "$(seed_of same.h5 2>/dev/null)" = 11
check "same output twice: no partial or lock left" bash -c '! ls same.h5.* 2>/dev/null | grep -q .'

# 2. An existing checkpoint file is not overwritten silently.
echo precious >precious.h5
mpirun -n 1 "$binary" "${quick[@]}" --output new.h5 --output.checkpoint_every_ms 50 \
  --output.checkpoint_file precious.h5 >d.log 2>&1
code=$?
check "existing checkpoint_file: exit 2 (got $code)" test $code -eq 2
check "existing checkpoint_file: names output.checkpoint_file" says d.log "output.checkpoint_file 'precious.h5'"
check "existing checkpoint_file: untouched" test "$(cat precious.h5)" = precious
check "existing checkpoint_file: no output" test ! -e new.h5
echo precious >run.ckpt.h5
mpirun -n 1 "$binary" "${quick[@]}" --output run.h5 --output.checkpoint_every_ms 50 >e.log 2>&1
code=$?
check "existing default NAME.ckpt.h5: exit 2 (got $code)" test $code -eq 2
check "existing default NAME.ckpt.h5: names output.checkpoint_file" says e.log "output.checkpoint_file 'run.ckpt.h5'"
check "existing default NAME.ckpt.h5: untouched" test "$(cat run.ckpt.h5)" = precious
mpirun -n 1 "$binary" "${quick[@]}" --output run.h5 --output.checkpoint_every_ms 50 --overwrite >/dev/null 2>&1
code=$?
check "--overwrite replaces the checkpoint (exit $code)" bash -c "[[ $code -eq 0 ]] && h5ls run.ckpt.h5/checkpoint >/dev/null"

# 3. The same file under two names.
mkdir real && ln -s real alias
mpirun -n 1 "$binary" "${quick[@]}" --output real/o.h5 --output.checkpoint_file alias/o.h5 >f.log 2>&1
code=$?
check "checkpoint = output through a symlink: exit 2 (got $code)" test $code -eq 2
check "checkpoint = output through a symlink: names output.checkpoint_file" says f.log "output.checkpoint_file"
check "checkpoint = output through a symlink: nothing written" test -z "$(ls real)"

# 4. A checkpoint folder to be created.
mpirun -n 2 --oversubscribe "$binary" "${quick[@]}" --output k.h5 --output.checkpoint_every_ms 50 \
  --output.checkpoint_file nodir/sub/k.ckpt.h5 >g.log 2>&1
code=$?
check "checkpoint in a new folder: exit 0 (got $code)" test $code -eq 0
check "checkpoint in a new folder: written" bash -c "h5ls nodir/sub/k.ckpt.h5/checkpoint >/dev/null"

# 5. A folder name as the output.
mpirun -n 1 "$binary" "${quick[@]}" --output newdir/ >h.log 2>&1
code=$?
check "--output newdir/: exit 2 (got $code)" test $code -eq 2
check "--output newdir/: names output.file" says h.log "output.file"
check "--output newdir/: creates nothing" test ! -e newdir

mkdir blocked.h5.partial
mpirun -n 1 "$binary" "${quick[@]}" --output blocked.h5 >h2.log 2>&1
code=$?
check "a folder where NAME.partial goes: exit 2 before simulating (got $code)" test $code -eq 2
check "a folder where NAME.partial goes: names output.file" says h2.log "output.file 'blocked.h5'"

# 6. Refused runs leave nothing behind.
mpirun -n 2 --oversubscribe "$binary" "${quick[@]}" --record.neurons list:99999 \
  --output fresh/deeper/run.h5 --output.checkpoint_file fresh2/run.ckpt.h5 >i.log 2>&1
code=$?
check "refused after the claim: exit 2 (got $code)" test $code -eq 2
check "refused after the claim: no folders left" test ! -e fresh -a ! -e fresh2
mkdir -p tiny
if mount -t tmpfs -o size=2m tmpfs tiny 2>/dev/null; then
  mpirun -n 2 --oversubscribe "$binary" --output tiny/a/b/run.h5 >j.log 2>&1
  code=$?
  check "full disk: exit 2 (got $code)" test $code -eq 2
  check "full disk: says how much is needed" says j.log "the run needs about"
  check "full disk: no folder or file left" test -z "$(ls -A tiny)"
  umount tiny
else
  echo "skip full-disk check: cannot mount a tmpfs here (not root?)"
fi

# 7. The default record.neurons (random:20) on a 2-neuron network.
mpirun -n 1 "$binary" --network.grid 1x2 --network.k_min 1 --network.k_max 1 --run.protocol train:100 \
  --output tinynet.h5 >k.log 2>&1
code=$?
check "1x2 grid with the default record.neurons: exit 0 (got $code)" test $code -eq 0
check "1x2 grid: traces both neurons" test "$(/usr/bin/python3 -c \
  "import h5py; print(len(h5py.File('tinynet.h5')['traces/neuron'][()]))" 2>/dev/null)" = 2

# 8. A stale lock (its run was killed) does not block. (It holds what a run writes there: a file
# with other text is not taken for a lock, issue 18's hostile round; tests/cli/hostile_files.sh.)
echo "seqlearn_mpi pid 1 on nowhere since 2026-01-01 00:00:00, writing output.file 'stale.h5'" >stale.h5.lock
mpirun -n 1 "$binary" "${quick[@]}" --output stale.h5 >l.log 2>&1
code=$?
check "stale lock: the run goes on (exit $code)" test $code -eq 0 -a -f stale.h5
check "stale lock: removed at the end" test ! -e stale.h5.lock

# 9. A legal but long file name: Open MPI's MPI-IO crashed on it after the whole run (hostile
#    test: 240 characters, exit 134, locks left behind); refused before anything is simulated.
long=$(printf 'b%.0s' $(seq 240))
timeout 60 mpirun -n 1 "$binary" "${quick[@]}" --output "$long.h5" >long.log 2>&1
code=$?
check "long output name: exit 2 (got $code)" test $code -eq 2
check "long output name: names output.file and the limit" says long.log "output.file.*at most 200"
check "long output name: nothing left" bash -c "! ls | grep -q '^bbbb'"

cli_end "output claims"
