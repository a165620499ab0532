#!/usr/bin/env bash
# jobs/run.sbatch, lib.sh and weak_scaling.sbatch against stub srun/sbatch/scontrol and a stub
# program (no SLURM, no MPI, seconds): hostile environment values are never evaluated (issue 18
# D7), counts are checked (exit 2, one line naming the variable), SEQLEARN_ARGS and
# SEQLEARN_CHAIN_SBATCH follow their quoting rule (D17), a chain retries a segment that ended
# with exit code 4 and stops after SEQLEARN_CHAIN_MAX_STALLS segments without progress, a chain
# with a missing segment is not joined (D3), and more than 999 segments join in numeric order
# (D15). Usage: tests/slurm/chain_stubs.sh  (from anywhere)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
failures=0
# check DESCRIPTION COMMAND... and cli_end, as the command-line tests have them.
# shellcheck source=../cli/lib.sh
source "$root/tests/cli/lib.sh"
mkdir -p stub tools
# srun: drops its options up to "-n R", then runs the program once.
cat >stub/srun <<'STUB'
#!/usr/bin/env bash
while [[ $# -gt 0 && "$1" != -n ]]; do shift; done
shift 2
exec "$@"
STUB
# sbatch: records its arguments and the chain's variables, prints a job id.
cat >stub/sbatch <<'STUB'
#!/usr/bin/env bash
{ printf '%s\n' "$@"; echo "ENV SEQLEARN_CHAIN_DIR=$SEQLEARN_CHAIN_DIR"
  echo "ENV SEQLEARN_CHAIN_SEGMENT=$SEQLEARN_CHAIN_SEGMENT"; echo "ENV SEQLEARN_CHAIN_STALLS=${SEQLEARN_CHAIN_STALLS:-}"; } >"$STUB_SBATCH"
echo 4242
STUB
printf '#!/usr/bin/env bash\necho "   Command=%s/jobs/run.sbatch"; echo "   TimeLimit=01:00:00"\n[[ -n "${STUB_STDOUT:-}" ]] && echo "   StdOut=$STUB_STDOUT"\nexit 0\n' "$root" >stub/scontrol
# The program: records its arguments (one per line, NUL-separated file too) and acts on FAKE.
cat >stub/program <<'STUB'
#!/usr/bin/env bash
printf '%s\0' "$@" >"$FAKE_ARGS"
out="" ckpt=""
while [[ $# -gt 0 ]]; do
  case $1 in --output) out=$2 ;; --output.checkpoint_file) ckpt=$2 ;; esac
  shift
done
case $FAKE in
  done) : >"$out"; echo "output written to $out"; exit 0 ;;
  stop:*) : >"$out"; : >"$ckpt"; echo "seqlearn_mpi: stopped on request (SIGTERM) at step ${FAKE#stop:} (x s of model time); checkpoint written"; exit 3 ;;
  nockpt) echo "seqlearn_mpi: stopped on request (SIGTERM) at step 900 (x)"; exit 3 ;;
  early) exit 4 ;;
  none) exit 0 ;;
esac
STUB
cat >tools/seqlearn-join <<'STUB'
#!/usr/bin/env bash
printf '%s\n' "$@" >"$STUB_JOIN"
STUB
chmod +x stub/* tools/*
export PATH=$work/stub:$PATH SLURM_SUBMIT_DIR=$root SLURM_JOB_ID=500 SLURM_NTASKS=1 SLURM_JOB_NAME=t \
  SEQLEARN_BIN=$work/stub/program SEQLEARN_TOOLS=$work/tools SEQLEARN_PYTHON=/usr/bin/python3 \
  STUB_SBATCH=$work/sbatch.rec STUB_JOIN=$work/join.rec FAKE_ARGS=$work/args.rec
unset SEQLEARN_ARGS SEQLEARN_THREADS SEQLEARN_MAX_SEGMENTS SEQLEARN_CHAIN_DIR SEQLEARN_CHAIN_SEGMENT \
  SEQLEARN_CHAIN_STALLS SEQLEARN_LAUNCHER SEQLEARN_CHAIN_SBATCH SEQLEARN_RANKS SEQLEARN_MODULES
hostile='PATH[$(touch PWNED)]'
# job VAR=VALUE... : run.sbatch in a fresh chain folder $work/c$n; sets code, out (stdout+stderr).
n=0
job() {
  n=$((n + 1)); rm -f sbatch.rec join.rec args.rec PWNED
  out=$(env SEQLEARN_RESULTS="$work/r$n" "$@" bash "$root/jobs/run.sbatch" 2>&1); code=$?
  chain=$work/r$n/run-500
}
no_pwned() { [[ ! -e PWNED && ! -e "$root/PWNED" ]]; }
one_line_naming() { [[ $code -eq 2 && "$out" == *"$1"* && $(grep -c "$1" <<<"$out") -eq 1 ]]; }

# D7: values evaluated as arithmetic.
out=$(SEQLEARN_THREADS=$hostile bash -c "source '$root/jobs/lib.sh'" 2>&1); code=$?
check "D7 SEQLEARN_THREADS='$hostile': not run, exit 2 naming it" bash -c "[[ $code -eq 2 && ! -e PWNED ]]"
check "D7 ... the message names SEQLEARN_THREADS" grep -q "SEQLEARN_THREADS must be a whole number" <<<"$out"
for value in "$hostile" 5seg 1e3 3.5 -1 0 "" " 5" $'5\n6' 99999999999999999999999; do
  job SEQLEARN_MAX_SEGMENTS="$value" FAKE=stop:900
  [[ -z "$value" ]] && { check "SEQLEARN_MAX_SEGMENTS='' is the default" bash -c "[[ $code -eq 0 ]]"; continue; }
  check "D7 SEQLEARN_MAX_SEGMENTS='${value//$'\n'/\\n}': exit 2 naming it, nothing run or submitted" \
    bash -c "[[ $code -eq 2 && ! -e sbatch.rec && ! -e args.rec ]] && grep -q 'SEQLEARN_MAX_SEGMENTS must be' <<<'${out//\'/}'"
  check "D7 ... no command run" no_pwned
done
for var in SEQLEARN_CHAIN_SEGMENT SEQLEARN_CHAIN_STALLS SEQLEARN_CHAIN_MAX_STALLS SEQLEARN_THREADS SLURM_CPUS_PER_TASK; do
  job "$var=$hostile" FAKE=stop:900
  check "$var='$hostile': exit 2 naming it, not run" bash -c "[[ $code -eq 2 && ! -e args.rec && ! -e PWNED ]]"
done
job SEQLEARN_CHAIN_SEGMENT=08 SEQLEARN_CHAIN_DIR="$work/oct" FAKE=stop:900
check "SEQLEARN_CHAIN_SEGMENT=08 is segment 8 (decimal, not octal)" test -f "$work/oct/segment-008.h5"
job SEQLEARN_SRUN_MPI='pmix $(touch PWNED)' FAKE=done
check "SEQLEARN_SRUN_MPI with blanks and \$(...): exit 2, not run" bash -c "[[ $code -eq 2 && ! -e args.rec ]]"
check "... no command run" no_pwned

# D17: SEQLEARN_ARGS is a quoted list, never globbed or expanded.
touch glob-a glob-b
job SEQLEARN_ARGS="--output.file 'a b.h5' * \$(touch PWNED) \`touch PWNED\`" FAKE=done
mapfile -d '' got <args.rec
want=(--output.file "a b.h5" "*" '$(touch' 'PWNED)' '`touch' 'PWNED`')
check "D17 SEQLEARN_ARGS=\"--output.file 'a b.h5' * \$(...)\": passed word for word, not globbed" \
  bash -c '[[ "$1" == "$2" ]]' _ "$(printf '%s|' "${got[@]: -7}")" "$(printf '%s|' "${want[@]}")"
check "D17 ... no command run" no_pwned
job SEQLEARN_ARGS="--seed 'unbalanced" FAKE=done
check "SEQLEARN_ARGS with an unbalanced quote: exit 2 naming it, not run" bash -c "[[ $code -eq 2 && ! -e args.rec ]] && grep -q 'SEQLEARN_ARGS has an unbalanced quote' <<<\"\$1\"" _ "$out"
job SEQLEARN_ARGS="--output.checkpoint_file=x.h5" FAKE=done
check "--output.checkpoint_file=... in SEQLEARN_ARGS refused (exit 2)" bash -c "[[ $code -eq 2 && ! -e args.rec ]]"
job SEQLEARN_ARGS="--threads 3" SEQLEARN_THREADS=2 FAKE=done
check "a --threads in SEQLEARN_ARGS is passed once" bash -c "[[ \$(tr '\0' '\n' <args.rec | grep -c -- '^--threads$') -eq 1 ]]"
job SEQLEARN_LAUNCHER="srun --comment 'a b' -n" FAKE=done
check "SEQLEARN_LAUNCHER is split by the same rule" bash -c "[[ $code -eq 0 && -e args.rec ]]"
job SEQLEARN_CHAIN_SBATCH="--qos 'long q' *" FAKE=stop:900
check "SEQLEARN_CHAIN_SBATCH passed word for word to sbatch" bash -c "grep -qx 'long q' sbatch.rec && grep -qx '\*' sbatch.rec"

# Progress and retries (D7, D10).
job FAKE=early
check "exit 4 (nothing written): the same segment is submitted again, one stall counted" \
  bash -c "grep -qx 'ENV SEQLEARN_CHAIN_SEGMENT=1' sbatch.rec && grep -qx 'ENV SEQLEARN_CHAIN_STALLS=1' sbatch.rec"
job FAKE=early SEQLEARN_CHAIN_STALLS=2
check "exit 4 a third time in a row: the chain stops (exit 1), nothing submitted, chain.log says why" \
  bash -c "[[ $code -eq 1 && ! -e sbatch.rec ]] && grep -q 'no progress in 3 segments in a row' '$chain/chain.log'"
mkdir -p "$work/prog" && echo "seqlearn_mpi: stopped on request (SIGTERM) at step 500 (x)" >"$work/prog/segment-001.log"
job FAKE=stop:501 SEQLEARN_CHAIN_DIR="$work/prog" SEQLEARN_CHAIN_SEGMENT=2
check "a segment that stopped one step after its start counts as a stall" grep -qx 'ENV SEQLEARN_CHAIN_STALLS=1' sbatch.rec
job FAKE=stop:900 SEQLEARN_CHAIN_DIR="$work/prog" SEQLEARN_CHAIN_SEGMENT=3 SEQLEARN_CHAIN_STALLS=2
check "a segment that progressed resets the stalls" grep -qx 'ENV SEQLEARN_CHAIN_STALLS=0' sbatch.rec
job FAKE=nockpt
check "exit 3 without a checkpoint: the chain stops (exit 1) and says so" \
  bash -c "[[ $code -eq 1 && ! -e sbatch.rec ]] && grep -q 'no checkpoint' '$chain/chain.log'"
job FAKE=stop:900 SEQLEARN_RESULTS_UNUSED=1 SEQLEARN_CHAIN_DIR="$work/odd, dir"
check "a chain folder with a comma travels whole to the continuation" grep -qxF "ENV SEQLEARN_CHAIN_DIR=$work/odd, dir" sbatch.rec

# Found by the hostile round: a node without scontrol, a launcher that runs nothing.
mv stub/scontrol stub/scontrol.off && printf '#!/bin/sh\nexit 1\n' >stub/scontrol && chmod +x stub/scontrol
job FAKE=stop:900
check "scontrol failing (no TimeLimit known): the continuation is still submitted" bash -c "[[ $code -eq 0 && -e sbatch.rec ]]"
mv stub/scontrol.off stub/scontrol
job FAKE=none
check "exit 0 without the segment's output: exit 1 and chain.log says so (not a raw mv error)" \
  bash -c "[[ $code -eq 1 ]] && grep -q 'exited 0 but wrote no segment-001.h5' '$chain/chain.log'"

mkdir -p "$work/nolog"
job FAKE=stop:900 SEQLEARN_CHAIN_DIR="$work/nolog" SEQLEARN_CHAIN_SEGMENT=2
check "the previous segment's log is gone: counted as a stall, the chain goes on" \
  bash -c "[[ $code -eq 0 ]] && grep -qx 'ENV SEQLEARN_CHAIN_STALLS=1' sbatch.rec"
mkdir -p "$work/adir"
job FAKE=done SEQLEARN_BIN="$work/adir"
check "SEQLEARN_BIN naming a folder: exit 2, 'no program'" bash -c "[[ $code -eq 2 ]] && grep -q 'no program at' <<<\"\$1\"" _ "$out"
job FAKE=done SEQLEARN_ARGS='--seed 3\'
check "a trailing backslash in SEQLEARN_ARGS adds no argument" bash -c "[[ \$(tr '\0' '\n' <args.rec | tail -1) == 3 ]]"

# D3 and D15: joining.
mkdir -p "$work/gap" && : >"$work/gap/segment-002.h5" && : >"$work/gap/segment-001.ckpt.h5"
job FAKE=done SEQLEARN_CHAIN_DIR="$work/gap" SEQLEARN_CHAIN_SEGMENT=3
check "D3 a missing segment: not joined, exit 1, chain.log names segment-001.h5" \
  bash -c "[[ $code -eq 1 && ! -e join.rec ]] && grep -q 'missing (segment-001.h5)' '$work/gap/chain.log'"
check "D3 ... and does not say complete-and-joined" bash -c "! grep -q 'joined into' '$work/gap/chain.log'"
mkdir -p "$work/many" && (cd "$work/many" && for i in $(seq 1 1000); do : >"$(printf 'segment-%03d.h5' "$i")"; done)
job FAKE=done SEQLEARN_CHAIN_DIR="$work/many" SEQLEARN_CHAIN_SEGMENT=1001
check "D15 1001 segments: joined in numeric order (segment-999, then 1000, 1001)" \
  bash -c "[[ $code -eq 0 ]] && grep 'segment-' join.rec | sed 's|.*/||' | diff -q - <(for i in \$(seq 1 1001); do printf 'segment-%03d.h5\n' \$i; done) >/dev/null"

# A chain that began with SEQLEARN_RESTORE: the join is told the checkpoint's step (segment 1's
# log says "restored '...' at step S"), or it would refuse the chain as one whose first segment
# is missing.
mkdir -p "$work/restored" && : >"$work/restored/segment-001.h5" && : >"$work/restored/start.ckpt.h5"
echo "seqlearn_mpi: restored '$work/restored/start.ckpt.h5' at step 1234; running train:100" \
  >"$work/restored/segment-001.log"
job FAKE=done SEQLEARN_CHAIN_DIR="$work/restored" SEQLEARN_CHAIN_SEGMENT=2 \
  SEQLEARN_RESTORE="$work/restored/start.ckpt.h5"
check "a chain begun with SEQLEARN_RESTORE: the join gets --start-step 1234" \
  bash -c "[[ $code -eq 0 ]] && grep -qx -- --start-step join.rec && grep -qx 1234 join.rec"

# SLURM_JOB_ID is checked before use (the hostile round: it went into a sed program, whose 'e'
# flag ran a command), and this job's id in the log's name becomes %j for the continuation.
job FAKE=stop:900 SLURM_JOB_ID='/touch PWNED7 #/e;s/(b)' STUB_STDOUT="$work/slurm-500.out"
check "SLURM_JOB_ID='/touch PWNED7 #/e;s/(b)': exit 2, nothing run" \
  bash -c "[[ $code -eq 2 && ! -e PWNED7 && ! -e '$root/PWNED7' ]]"
job FAKE=stop:900 STUB_STDOUT="$work/logs-500/slurm-500.out"
check "the continuation's log: this job's id in the name becomes %j (not in the folder)" \
  grep -qx -- "--output=$work/logs-500/slurm-%j.out" sbatch.rec

# rank_list and weak_scaling's block (D7).
out=$(SEQLEARN_RANKS="1 $hostile" bash -c "source '$root/jobs/lib.sh'; rank_list 2" 2>&1); code=$?
check "SEQLEARN_RANKS with '$hostile': exit 2, not run" bash -c "[[ $code -eq 2 && ! -e PWNED ]]"
out=$(SEQLEARN_RANKS="1 08" bash -c "source '$root/jobs/lib.sh'; rank_list 2" 2>&1)
check "SEQLEARN_RANKS='1 08' is 1 8" test "$(tail -1 <<<"$out")" == "1 8"
rm -f args.rec PWNED
out=$(env SEQLEARN_BLOCK="${hostile}x4" SEQLEARN_RESULTS="$work/w" FAKE=done bash "$root/jobs/weak_scaling.sbatch" 2>&1); code=$?
check "SEQLEARN_BLOCK='${hostile}x4': weak_scaling exits 2 naming it, nothing run" \
  bash -c "[[ $code -eq 2 && ! -e PWNED && ! -e args.rec ]] && grep -q 'SEQLEARN_BLOCK must be' <<<\"\$1\"" _ "$out"
cli_end chain_stubs
