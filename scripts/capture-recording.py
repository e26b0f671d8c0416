#!/usr/bin/env python3
"""Record a real memcg OOM with `oomctl record`, cgroup samples included,
for the corpus: the recording format and `replay` are then pinned by a real
capture, not only by the live tests.

Safety as in capture-real-oom.py (whose Lab this reuses): only cgroups
created here under this process's own memory cgroup, only processes started
here, everything removed at the end; a 96 MiB limit on a 24 GiB machine.

    sudo scripts/capture-recording.py OOMCTL OUT.rec

Scenario: three idle processes (8, 16, 24 MiB) and an allocator in one
cgroup, sampled every 0.25 s until the kernel kills the allocator.
"""

import importlib.util
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("capture", os.path.join(HERE, "capture-real-oom.py"))
capture = importlib.util.module_from_spec(spec)
spec.loader.exec_module(capture)


def main():
    if os.geteuid() != 0:
        sys.exit("skip: needs root to create memory cgroups")
    oomctl, out = sys.argv[1], sys.argv[2]
    lab = capture.Lab()
    rec = None
    try:
        cg = lab.mkdir("multi", 96 << 20)
        rec = subprocess.Popen(
            [oomctl, "record", "-o", out, "--cgroup", cg, "--interval", "0.25"],
            stderr=subprocess.PIPE,
        )
        first = rec.stderr.readline().decode()
        if "recording" not in first and "watching" not in first:
            sys.exit("record did not start: " + first)
        idle = [lab.spawn("multi", capture.IDLE, n << 20) for n in (8, 16, 24)]
        time.sleep(1.5)
        lab.wait_killed([lab.spawn("multi", capture.ALLOC_ANON)])
        time.sleep(0.6)
        for p in idle:
            p.kill()
            p.wait()
    finally:
        if rec is not None:
            rec.terminate()
            rec.wait()
        lab.close()
    print("recorded %s" % out)


if __name__ == "__main__":
    main()
