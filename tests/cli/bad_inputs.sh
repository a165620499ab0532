#!/usr/bin/env bash
# Runs every row of the table in docs/errors.md under mpirun at NP ranks and checks: exit code
# 2, exactly one line from the program on stderr naming the key, no output file. Each run has
# 60 s: a loaded machine may take 10 s and more to start mpirun (D22 of issue 9); a run that
# hits the limit (exit 124) is reported as a hang, with what it printed.
# Usage: bad_inputs.sh SEQLEARN_MPI NP
set -u
binary=${1:?usage: bad_inputs.sh SEQLEARN_MPI NP (the program to test; no default)}
[[ -x "$binary" ]] || { echo "FAIL no program at $binary"; exit 1; }
np=${2:?usage: bad_inputs.sh SEQLEARN_MPI NP}
here=$(cd "$(dirname "$0")" && pwd)
table=$here/../../docs/errors.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
DATA=$here/data
CKPT=$work/complete.ckpt.h5
mpirun -n 1 "$binary" --network.grid 3x3 --run.protocol train:200 --output.checkpoint_every_ms 200 \
  --output "$work/complete.h5" </dev/null >/dev/null 2>&1 || { echo "FAIL could not make the checkpoint"; exit 1; }
failures=0
rows=0
while IFS= read -r line; do
  [[ "$line" =~ ^\|\ [0-9]+\ \|\ \`(.*)\`\ \|\ \`(.*)\`\ \| ]] || continue
  args=${BASH_REMATCH[1]}
  key=${BASH_REMATCH[2]}
  rows=$((rows + 1))
  OUT="$work/out_$rows.h5"
  eval "set -- $args"
  # A short run unless the row is about the protocol or restores a checkpoint.
  [[ "$args" == *--run.protocol* || "$args" == *--restore* ]] || set -- --run.protocol train:100 "$@"
  timeout 60 mpirun -n "$np" --oversubscribe "$binary" --output "$OUT" "$@" \
    </dev/null >"$work/stdout" 2>"$work/stderr"
  code=$?
  if [[ $code -eq 124 ]]; then
    echo "FAIL #$rows [$key] $args: no end within 60 s (a hang); it printed:"
    sed 's/^/    /' "$work/stderr" | tail -5
    failures=$((failures + 1))
    continue
  fi
  # mpirun adds its own banner about the non-zero exit; count the program's lines only.
  grep '^seqlearn_mpi' "$work/stderr" >"$work/ours"
  lines=$(grep -c . "$work/ours")
  if [[ $code -ne 2 ]]; then
    echo "FAIL #$rows [$key] $args: exit code $code, expected 2"; failures=$((failures + 1))
  elif [[ $lines -ne 1 ]] || ! grep -q -- "$key" "$work/ours"; then
    echo "FAIL #$rows [$key] $args: expected one line naming '$key', got:"; sed 's/^/    /' "$work/stderr"
    failures=$((failures + 1))
  elif compgen -G "$work/out_$rows.h5*" >/dev/null; then
    echo "FAIL #$rows [$key] $args: an output file was written"; failures=$((failures + 1))
  else
    echo "ok   #$rows $(cat "$work/ours")"
  fi
done <"$table"
echo "$((rows - failures)) passed, $failures failed"
[[ $failures -eq 0 && $rows -ge 30 ]]
