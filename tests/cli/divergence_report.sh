#!/usr/bin/env bash
# A divergence is reported at the step where it happened, not at the start of its exchange
# interval (issue 8): a checkpoint gets one huge input weight, 1e200 (neuron 0, channel 0; the
# inputs are silent, so nothing else ever reads it; its checksum is recomputed, as a restore
# refuses edited and non-finite weights), and the restored run, with a delay of 3
# steps (exchange intervals [9,12), [12,15), ...), forces neuron 0 to spike at step 13. Its
# STDP update at step 13 is the first non-finite value: the report must name step 13 and
# neuron 0, on 1 and 2 ranks and on 1 rank with 2 threads, exit 1 and write nothing; and on 3
# ranks with the directed exchange (docs/scaling.md: the report reaches the ranks that own no
# circuit, which listen to nobody, through its all-reduce and gather).
# Usage: divergence_report.sh SEQLEARN_MPI
set -u
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cli_begin divergence_report.sh "${1:-}"
network=(--network.grid 1x2 --network.k_min 2 --network.k_max 2 --network.n_inputs 2
         --network.delay 3 --input.r_input 0 --input.r_noise 0 --record.neurons all)
check "checkpoint written" mpirun -n 1 "$binary" "${network[@]}" --run.protocol train:9 \
  --output.checkpoint_every_ms 9 --output first.h5 >first.log 2>&1
check "weight made huge" /usr/bin/python3 -c "
import h5py, numpy as np
def mix(x):  # include/seqlearn/checksum.hpp, modulo 2^64
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))
with h5py.File('first.ckpt.h5', 'r+') as f:
    w = f['synapses/weight'][()]
    w[0] = 1e200
    f['synapses/weight'][0] = w[0]
    with np.errstate(over='ignore'):
        terms = mix(w.view(np.uint64) ^ mix(np.arange(len(w), dtype=np.uint64)))
        f['synapses/weight'].attrs['checksum'] = terms.sum(dtype=np.uint64).view(np.int64)"
printf 'source,id,step\nneuron,0,13\n' >forced.csv
# np 3: 1 rank with 2 threads (the report leaves a parallel region as an exception);
# np 4: 3 ranks, directed exchange.
for np in 1 2 3 4; do
  ranks=$np threads=1 exchange=allgather
  if [[ $np == 3 ]]; then ranks=1 threads=2; fi
  if [[ $np == 4 ]]; then ranks=3 exchange=directed; fi
  mpirun -n "$ranks" --oversubscribe --bind-to none "$binary" --restore first.ckpt.h5 \
    --run.protocol train:30 --validation.forced_spikes forced.csv --threads "$threads" \
    --run.exchange "$exchange" --output "np$np.h5" >"np$np.log" 2>&1
  code=$?
  check "np $np: exit code 1" test "$code" -eq 1
  check "np $np: names step 13 and neuron 0" grep -q "diverged at step 13: neuron 0 " "np$np.log"
  check "np $np: nothing written" test ! -e "np$np.h5"
  [[ $failures -eq 0 ]] || cat "np$np.log"
done
cli_end "divergence report"
