#!/usr/bin/env bash
# Files outside the run are never destroyed, special files are never read (issue 18, second
# hostile round; the rules are in docs/design.md "Files"). Each case names its defect:
#  D1   a device, a FIFO or a symbolic link at the output or checkpoint name is refused (exit 2)
#       even with --overwrite, and stays as it was (/dev/null included);
#  D2   a symbolic link (or a FIFO) at NAME.lock or NAME.partial is refused (exit 2) and what it
#       points to is untouched; a link planted at NAME.partial during the run is removed, never
#       followed;
#  D5   input.file, input.label_file, validation.forced_spikes and --restore that are FIFOs or
#       devices are refused at once (exit 2), never opened for reading;
#  D6   the space check counts the file task's replayed spikes; an input file whose datasets
#       would not fit in memory is refused before any rank loads it;
#  D10  with SEQLEARN_READY_DIR each rank says that its stop handlers are in place;
#  D11  a file that appears at the output's name during the run is kept: exit 1, and the result
#       stays under NAME.partial.
# Usage: hostile_files.sh SEQLEARN_MPI
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_begin hostile_files.sh "${1:-}"
quick=(--network.grid 3x3 --run.protocol train:100 --threads 1)
says() { grep -q -- "$2" "$1" || { echo "    $1 says:"; sed 's/^/      /' "$1"; false; }; }
# run LOG ARGS...: 2 ranks, a hang guard, the exit code in $code.
run() {
  local log=$1
  shift
  timeout 120 mpirun -n 2 "$binary" "$@" >"$log" 2>&1
  code=$?
}
echo precious >victim.txt
untouched() { test "$(cat victim.txt)" = precious; }

# D1: special files and links at the output's or the checkpoint's name.
mknod -m 666 mynull c 1 3 && mkfifo fifo.h5 && ln -s victim.txt link.h5
for target in mynull fifo.h5 link.h5 /dev/null; do
  run d1.log "${quick[@]}" --output "$target" --overwrite
  check "D1 --output $target --overwrite: exit 2 (got $code)" test $code -eq 2
  check "D1 --output $target: says it replaces only regular files" says d1.log "not a regular file"
done
check "D1: the device is still a device" test -c mynull
check "D1: /dev/null is still a device" test -c /dev/null
check "D1: the FIFO is still a FIFO" test -p fifo.h5
check "D1: the link is still a link, its target untouched" bash -c 'test -L link.h5 && test "$(cat victim.txt)" = precious'
run d1c.log "${quick[@]}" --output d1c.h5 --output.checkpoint_file mynull --overwrite
check "D1 checkpoint_file a device: exit 2 (got $code)" test $code -eq 2
check "D1 checkpoint_file a device: names output.checkpoint_file" says d1c.log "output.checkpoint_file 'mynull'"
check "D1 checkpoint_file a device: no output" test ! -e d1c.h5

# D2: links and FIFOs at the lock and partial names.
for name in o.h5.lock o.h5.partial o.ckpt.h5.lock o.ckpt.h5.partial; do
  ln -s victim.txt "$name"
  run d2.log "${quick[@]}" --output o.h5
  check "D2 link at $name: exit 2 (got $code)" test $code -eq 2
  check "D2 link at $name: names it" says d2.log "'$name'.* is a symbolic link"
  check "D2 link at $name: victim untouched" untouched
  check "D2 link at $name: no output" test ! -e o.h5
  rm -f "$name"
done
ln -s nowhere.txt o.h5.partial
run d2d.log "${quick[@]}" --output o.h5
check "D2 dangling link at .partial: exit 2 (got $code)" test $code -eq 2
check "D2 dangling link at .partial: its target is not created" test ! -e nowhere.txt
rm -f o.h5.partial
mkfifo o.h5.lock
run d2f.log "${quick[@]}" --output o.h5
check "D2 FIFO at .lock: exit 2, no hang (got $code)" test $code -eq 2
rm -f o.h5.lock
# long_run NAME: a run on NAME.h5 that simulates until stopped (started in the background,
# $pid); stop_run: once the file is planted, SIGUSR2 to the ranks (handlers in place: they
# announced it in ready/), which stop, write the checkpoint and the output; $code.
mkdir -p ready
long_run() {
  local name=$1
  shift
  rm -f ready/*
  SEQLEARN_READY_DIR=$work/ready timeout 120 mpirun -n 2 "$binary" --network.grid 3x3 --threads 1 \
    --run.protocol train:3000000 --record.dt_rec 0 --output "$name.h5" "$@" >"$name.log" 2>&1 &
  pid=$!
  # Until the ranks have their handlers and the run holds its claim (NAME.h5.lock), then a
  # moment for the claim's last check: the run is simulating.
  for _ in $(seq 600); do
    [[ $(find ready -name 'ready.*' | wc -l) -ge 2 && -e "$name.h5.lock" ]] && break
    sleep 0.05
  done
  sleep 0.5
}
stop_run() {
  pkill -USR2 -f "^$binary .*--output $1.h5"  # the ranks, not mpirun or timeout
  wait $pid
  code=$?
}
# A link planted at NAME.partial while the run simulates: removed, not followed.
long_run late
ln -s victim.txt late.h5.partial
stop_run late
check "D2 link planted at .partial during the run: exit 3 (stopped; got $code)" test $code -eq 3
check "D2 link planted at .partial during the run: victim untouched" untouched
check "D2 link planted at .partial during the run: the output is a regular HDF5 file" bash -c 'test -f late.h5 && ! test -L late.h5 && head -c 4 late.h5 | grep -q HDF'

# D5: special files to read.
mkfifo in.csv labels.csv forced.csv ckpt.h5
ln -s /dev/zero zero.csv
printf 'step,channel\n0,1\n5,2\n' >ok.csv
file_run=(--network.grid 3x3 --threads 1 --network.n_inputs 10 --run.protocol train:100:file --output d5.h5)
for case in "input.file in.csv" "input.file zero.csv" "input.label_file labels.csv" \
            "validation.forced_spikes forced.csv"; do
  read -r key path <<<"$case"
  extra=()
  [[ $key != input.file ]] && extra=(--input.file ok.csv)
  start=$SECONDS
  run d5.log "${file_run[@]}" "${extra[@]}" "--$key" "$path"
  check "D5 $key $path: exit 2 (got $code)" test $code -eq 2
  check "D5 $key $path: names the key and says what it is" says d5.log "$key '$path' is a"
  check "D5 $key $path: at once ($((SECONDS - start)) s)" test $((SECONDS - start)) -lt 60
  check "D5 $key $path: no lock left" bash -c '! ls d5.h5* 2>/dev/null | grep -q .'
done
run d5r.log --restore ckpt.h5 --output d5.h5
check "D5 --restore a FIFO: exit 2 (got $code)" test $code -eq 2
check "D5 --restore a FIFO: names --restore" says d5r.log "restore 'ckpt.h5' is a FIFO"

# D6: the file task in the space and memory checks.
mkdir -p small
if mount -t tmpfs -o size=12m tmpfs small 2>/dev/null; then
  /usr/bin/python3 -c "
import sys
with open('dense.csv', 'w') as f:
    f.write('step,channel\n')
    for step in range(100):
        f.write(''.join(f'{step},{c}\n' for c in range(100)))"
  run d6.log --network.grid 3x3 --threads 1 --network.n_inputs 100 --input.file dense.csv \
    --run.protocol train:20000:file --record.dt_rec 0 --output small/dense.h5
  check "D6 dense replay on a 12 MB disk: exit 2 before simulating (got $code)" test $code -eq 2
  check "D6 dense replay: says how much is needed" says d6.log "output.file 'small/dense.h5': the run needs about"
  check "D6 dense replay: nothing left on the disk" test -z "$(ls small)"
  umount small
else
  echo "skip D6 space check: cannot mount a tmpfs here (not root?)"
fi
/usr/bin/python3 -c "
import h5py
with h5py.File('huge.h5', 'w') as f:
    for name in ('spikes/step', 'spikes/channel'):
        f.create_dataset(name, shape=(10**8,), dtype='i8', chunks=(1 << 16,), compression='gzip', fillvalue=0)"
start=$SECONDS
code=$(bash -c 'ulimit -v 2000000; timeout 120 mpirun -n 2 "$@" >d6m.log 2>&1; echo $?' _ "$binary" \
  --network.grid 3x3 --threads 1 --network.n_inputs 10 --input.file huge.h5 --run.protocol train:100:file --output d6m.h5)
check "D6 10^8 rows in a small HDF5 under ulimit -v 2 GB: exit 2 (got $code)" test "$code" -eq 2
check "D6 10^8 rows: names input.file in the memory estimate" says d6m.log "input.file: the run needs about"
check "D6 10^8 rows: refused up front ($((SECONDS - start)) s)" test $((SECONDS - start)) -lt 60

# D10: the ranks say when their handlers are in place.
rm -f ready/*
SEQLEARN_READY_DIR=$work/ready run d10.log "${quick[@]}" --output d10.h5
check "D10 SEQLEARN_READY_DIR: one file per rank" test "$(find ready -name 'ready.*' | wc -l)" -eq 2

# D11: a file that appears at the output's name during the run is kept.
long_run appear
echo mine >appear.h5
stop_run appear
cp appear.log d11.log
check "D11 a file appeared at the output's name: exit 1 (got $code)" test $code -eq 1
check "D11: the file that appeared is kept" test "$(cat appear.h5)" = mine
check "D11: the message says where the result is" says d11.log "'appear.h5' appeared while the run was writing it and is kept; the result is 'appear.h5.partial'"
check "D11: the result is complete under .partial" /usr/bin/python3 -c "import h5py; h5py.File('appear.h5.partial')['spikes']"
# ... and with --overwrite, which replaces the file that was there at the start, not one that
# appears meanwhile.
echo old >again.h5
long_run again --overwrite
rm again.h5 && echo mine >again.h5
stop_run again
check "D11 --overwrite, a file appeared during the run: kept, exit 1 (got $code)" \
  bash -c "[[ $code -eq 1 && \$(cat again.h5) == mine ]]"

# The output's folder swapped for a link to another folder during the run: nothing is written
# or renamed there (the run ends with exit 1 naming the folder), the other folder's file stays.
mkdir -p swap other && echo mine >other/o.h5
long_run swap/o --overwrite
mv swap swap.old && ln -s other swap
stop_run swap/o
check "a folder swapped during the run: exit 1 (got $code)" test $code -eq 1
check "a folder swapped during the run: the other folder's file untouched, nothing added" \
  bash -c '[[ $(cat other/o.h5) == mine && $(ls other) == o.h5 ]]'
check "a folder swapped during the run: says so" says swap.old/o.log "no longer the one the run claimed"
check "a folder swapped during the run: its locks removed where they were made" \
  bash -c '! ls swap.old/*.lock 2>/dev/null | grep -q .'

# Names and files a run must not take (the hostile round after issue 18's fixes): NAME.lock and
# NAME.partial that are not a run's, an output that ends in .lock or .partial, an output that
# is a file the run reads.
echo notes >y.h5.lock
run k1.log "${quick[@]}" --output y.h5
check "K a NAME.lock that is not a run's lock: exit 2, kept" bash -c "[[ $code -eq 2 && \$(cat y.h5.lock) == notes ]]"
rm y.h5.lock && echo draft >y.h5.partial
run k2.log "${quick[@]}" --output y.h5
check "K a NAME.partial without --overwrite: exit 2, kept" bash -c "[[ $code -eq 2 && \$(cat y.h5.partial) == draft ]]"
for name in z.h5.partial z.h5.lock; do
  run k3.log "${quick[@]}" --output "$name"
  check "K --output $name: exit 2 (got $code)" test $code -eq 2
done
printf 'step,channel\n0,1\n5,2\n' >jin.csv && ln jin.csv jhard.csv && printf '[network]\ngrid = 3x3\n' >jc.ini
for case in "--output jin.csv" "--output jhard.csv" "--output.checkpoint_file jin.csv"; do
  # shellcheck disable=SC2086  # two words
  run j.log --network.grid 3x3 --threads 1 --network.n_inputs 10 --run.protocol train:100:file \
    --input.file jin.csv $case --overwrite
  check "J $case (the input.file): exit 2, the input kept (got $code)" \
    bash -c "[[ $code -eq 2 && \$(head -1 jin.csv) == step,channel ]]"
done
run j.log --config jc.ini --run.protocol train:100 --threads 1 --output jc.ini --overwrite
check "J --output the --config file: exit 2, kept" bash -c "[[ $code -eq 2 && \$(head -1 jc.ini) == '[network]' ]]"

# The confirming round: an output folder that is a link to a missing folder is bad input.
mkdir -p target && ln -s "$work/target/missing" dangling
run dl.log "${quick[@]}" --output dangling/o.h5
check "an output folder that is a dangling link: exit 2 (got $code)" test $code -eq 2
check "an output folder that is a dangling link: says so" says dl.log "'.*dangling' is a symbolic link to a missing folder"
check "an output folder that is a dangling link: nothing made" test -z "$(ls target)"

# The last hostile round: an absolute output path longer than Open MPI's MPI-IO takes (it aborted
# the run after simulating, the output lost) is refused up front.
long=$(printf 'f%.0s' $(seq 240))
mkdir -p "$long"
run lp.log "${quick[@]}" --output "$long/o.h5"
check "an absolute output path over 230 bytes: exit 2 before simulating (got $code)" test $code -eq 2
check "an absolute output path over 230 bytes: says the limit" says lp.log "absolute path (with .partial) is [0-9]* bytes long; at most 230"
check "an absolute output path over 230 bytes: nothing left" test -z "$(ls "$long")"

# The last hostile round: a "regular" file of /proc whose read blocks (/proc/kmsg, size 0) hung
# a rank for good. Read without blocking and only as far as the file's size promises.
if [[ -r /proc/kmsg ]]; then
  for case in "--config /proc/kmsg" "--restore /proc/kmsg" "--network.n_inputs 10 --run.protocol train:10:file --input.file /proc/kmsg"; do
    rm -f kmsg.h5 kmsg.ckpt.h5
    start=$SECONDS
    # shellcheck disable=SC2086  # the case's words
    run kmsg.log "${quick[@]}" $case --output kmsg.h5
    check "$case: ends at once, no hang ($((SECONDS - start)) s, exit $code)" \
      bash -c "[[ $code -ne 124 && $((SECONDS - start)) -lt 60 ]]"
  done
fi

cli_end "hostile files"
