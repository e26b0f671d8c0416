#!/usr/bin/env python3
"""Benchmark `oomctl watch` on real memcg OOMs caused here.

Measures:
- latency from the kernel's kill line (its kmsg timestamp, read back from
  watch's recording) to the episode line arriving on watch's stdout
  (CLOCK_MONOTONIC, the clock printk stamps records with);
- watch's CPU time while idle (goal: zero) and its RSS at idle and after
  N episodes (goal: under 8 MiB).

Safety: every OOM happens in a child cgroup of this process's own memory
cgroup with a small limit, to a `tail /dev/zero` started here; the cgroup is
removed at the end. Needs root and the cgroup-v1 memory controller.

    sudo scripts/bench-watch.py [EPISODES]      (default 1000)
"""

import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMIT = 8 << 20


def own_memcg():
    for line in open("/proc/self/cgroup"):
        _, ctrl, path = line.rstrip("\n").split(":", 2)
        if "memory" in ctrl.split(","):
            return path
    sys.exit("skip: no cgroup-v1 memory controller")


def status(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime


def main():
    if os.geteuid() != 0:
        sys.exit("skip: needs root to create memory cgroups")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "oomctl")
    tmp = tempfile.mkdtemp(prefix="oomctl-bench-watch-")
    rec = os.path.join(tmp, "rec.jsonl")
    cg = "/sys/fs/cgroup/memory%s/oomctl-bench-%d" % (own_memcg(), os.getpid())
    os.mkdir(cg)
    with open(os.path.join(cg, "memory.limit_in_bytes"), "w") as f:
        f.write(str(LIMIT))
    watch = subprocess.Popen(
        [binary, "watch", "-f", "jsonl", "--record", rec],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        watch.stderr.readline()  # "watching /dev/kmsg"
        time.sleep(1.0)
        rss_idle = status(watch.pid, "VmRSS")
        t0 = cpu_ticks(watch.pid)
        time.sleep(5.0)
        idle_ticks = cpu_ticks(watch.pid) - t0
        arrivals = {}
        fd = watch.stdout.fileno()
        buf = b""
        for i in range(n):
            hog = subprocess.Popen(["sh", "-c", "echo $$ > %s/cgroup.procs && exec tail /dev/zero" % cg])
            hog.wait()
            deadline = time.monotonic() + 5
            while hog.pid not in arrivals and time.monotonic() < deadline:
                r, _, _ = select.select([fd], [], [], 0.5)
                if not r:
                    continue
                chunk = os.read(fd, 1 << 16)
                now = time.clock_gettime(time.CLOCK_MONOTONIC)
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    ep = json.loads(line)
                    for v in ep["victims"]:
                        arrivals[v["pid"]] = now
            if hog.pid not in arrivals:
                print("episode %d (pid %d) not reported within 5 s" % (i + 1, hog.pid), file=sys.stderr)
        rss_after = status(watch.pid, "VmRSS")
        hwm = status(watch.pid, "VmHWM")
    finally:
        watch.terminate()
        watch.wait()
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)
    kills = {}
    for line in open(rec):
        e = json.loads(line)
        if e.get("t") == "record" and "Killed process" in e["r"]:
            head, msg = e["r"].split(";", 1)
            pid = int(msg.split("Killed process ", 1)[1].split()[0])
            kills[pid] = int(head.split(",")[2]) / 1e6
    lat = sorted((arrivals[p] - kills[p]) * 1000 for p in arrivals if p in kills)
    print("episodes          %d caused, %d reported" % (n, len(arrivals)))
    if lat:
        print(
            "latency kill→line median %.2f ms, p90 %.2f ms, max %.2f ms"
            % (statistics.median(lat), lat[int(len(lat) * 0.9) - 1 if len(lat) > 1 else 0], lat[-1])
        )
    print("CPU while idle    %d ticks in 5 s" % idle_ticks)
    print("RSS idle          %d KiB" % rss_idle)
    print("RSS after %-5d   %d KiB (peak %d KiB)" % (n, rss_after, hwm))


if __name__ == "__main__":
    main()
