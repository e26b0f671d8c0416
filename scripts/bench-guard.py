#!/usr/bin/env python3
"""Benchmark `oomctl guard` on real cgroups: the time from the threshold
firing to the victim's confirmed death (`response_us` in its reports), and
the highest growth rate at which it still beats the kernel's OOM killer for
a 128 MiB cgroup with default margins (2.56 MiB).

Safety: everything happens in child cgroups of this process's own memory
cgroup, to allocators started here; the cgroups are removed at the end.
Needs root, cgroup v1 memory and python3.

    sudo scripts/bench-guard.py [TRIALS]     (default 3 per rate)
"""

import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATES = [50, 100, 200, 400, 800, 1600, 0]  # MB/s; 0: `tail /dev/zero`, as fast as the machine allows

ALLOC = r"""
import sys, time
rate = float(sys.argv[1]) * (1 << 20)
chunk = 1 << 20
pause = chunk / rate
b = []
t = time.monotonic()
while True:
    x = bytearray(chunk)
    for i in range(0, chunk, 4096):
        x[i] = 1
    b.append(x)
    t += pause
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)
"""


def own_memcg():
    for line in open("/proc/self/cgroup"):
        _, ctrl, path = line.rstrip("\n").split(":", 2)
        if "memory" in ctrl.split(","):
            return path
    sys.exit("skip: no cgroup-v1 memory controller")


def oom_kills(d):
    for line in open(os.path.join(d, "memory.oom_control")):
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    return 0


def main():
    if os.geteuid() != 0:
        sys.exit("skip: needs root")
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "oomctl")
    root = "/sys/fs/cgroup/memory%s/oomctl-bench-guard-%d" % (own_memcg(), os.getpid())
    app = os.path.join(root, "app")
    os.makedirs(app)
    with open(os.path.join(app, "memory.limit_in_bytes"), "w") as f:
        f.write(str(128 << 20))
    guard = subprocess.Popen([binary, "guard", "--root", root], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    guard.stderr.readline()
    responses = []
    results = []
    try:
        for rate in RATES:
            wins = 0
            speeds = []
            for _ in range(trials):
                before = oom_kills(app)
                cmd = "tail /dev/zero" if rate == 0 else "python3 -c '%s' %d" % (ALLOC, rate)
                t0 = time.monotonic()
                p = subprocess.Popen(["sh", "-c", "echo $$ > %s/cgroup.procs && exec %s" % (app, cmd)])
                p.wait()
                # It grew to about the limit in its lifetime: the rate it achieved.
                speeds.append(128 / (time.monotonic() - t0))
                kernel = oom_kills(app) > before
                if not kernel:
                    wins += 1
                    line = guard.stdout.readline()
                    responses.append(json.loads(line)["response_us"] / 1000)
                else:
                    # The guard may still report (it saw the threshold) after the kernel's kill.
                    time.sleep(0.2)
                time.sleep(0.1)
            achieved = statistics.median(speeds)
            results.append((achieved, wins))
            print(
                "%-14s achieved ~%5.0f MiB/s: guard first in %d of %d"
                % ("tail /dev/zero" if rate == 0 else "%d MB/s" % rate, achieved, wins, trials),
                flush=True,
            )
    finally:
        guard.terminate()
        guard.wait()
        for d in (app, root):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.1)
    best = max([r for r, w in results if w == trials], default=None)
    if responses:
        responses.sort()
        print("threshold → victim dead: median %.2f ms, max %.2f ms (%d kills)" % (statistics.median(responses), responses[-1], len(responses)))
    print("highest achieved rate the guard always won: %s" % ("~%.0f MiB/s" % best if best else "none"))


if __name__ == "__main__":
    main()
