#!/usr/bin/env python3
"""The tour's report: sums the chunks that simulate.sh wrote for job JOB (out/JOB/ beside this
script) into one estimate of pi, prints it and reports it as the job's result."""
import json
import os
import sys
from pathlib import Path

if len(sys.argv) != 2:
    sys.exit("usage: report.py JOB (the simulation's job id)")
out = Path(__file__).resolve().parent / "out" / sys.argv[1]
chunks = sorted(out.glob("chunk-*.txt"))
if not chunks:
    sys.exit(f"no chunks of {sys.argv[1]} in {out}: did the simulation run here?")
hits = darts = 0
for f in chunks:
    h, d = (int(v) for v in f.read_text().split())
    hits, darts = hits + h, darts + d
pi = 4 * hits / darts
print(f"{len(chunks)} chunks, {darts} darts: pi is about {pi:.4f}")
with open(os.environ.get("DROVER_REPORT", os.devnull), "a") as report:
    report.write(json.dumps({"result": {"chunks": len(chunks), "darts": darts, "pi": pi}}) + "\n")
