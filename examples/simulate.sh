#!/bin/sh
# The tour's simulation: one chunk of a Monte Carlo estimate of pi. Each chunk throws darts
# with its own seed in ten steps, reports progress and a checkpoint after each (a retried
# attempt resumes from $DROVER_CHECKPOINT), and writes "hits darts" to out/<job>/chunk-<i>.txt
# beside this script, which report.py sums. Plain sh and awk: nothing to install on a node.
set -eu
out="$(dirname "$0")/out/$DROVER_JOB"
mkdir -p "$out"
report=${DROVER_REPORT:-/dev/null}
darts=20000
checkpoint=${DROVER_CHECKPOINT:-0:0} # "<steps done>:<hits so far>"
step=${checkpoint%%:*}
hits=${checkpoint#*:}
while [ "$step" -lt 10 ]; do
  step=$((step + 1))
  hits=$((hits + $(awk -v seed=$((DROVER_CHUNK * 100 + step)) -v n="$darts" \
    'BEGIN { srand(seed); for (i = 0; i < n; i++) { x = rand(); y = rand(); if (x*x + y*y < 1) h++ } print h + 0 }')))
  echo "{\"progress\":$(awk "BEGIN { print $step / 10 }"),\"checkpoint\":\"$step:$hits\",\"message\":\"step $step of 10\"}" >> "$report"
done
echo "$hits $((darts * 10))" > "$out/chunk-$DROVER_CHUNK.txt"
echo "{\"result\":{\"hits\":$hits,\"darts\":$((darts * 10))}}" >> "$report"
echo "chunk $DROVER_CHUNK of $DROVER_CHUNKS on $DROVER_NODE: $hits of $((darts * 10)) darts in the circle"
