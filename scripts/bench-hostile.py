#!/usr/bin/env python3
"""Time linear in input size, on hostile shapes (issue 7).

For each shape, `oomctl analyze -f jsonl` runs on inputs of n, 2n, 4n and 8n
units (best of 3, release build, input from a file in the page cache). The
time per unit must stay flat: the ratio column is time(k·n) / (k · time(n)),
~1 for linear work, ~k for quadratic. Also prints peak RSS (must not grow
with the input for the shapes that stream; a task table is kept whole).

    scripts/bench-hostile.py [--quick]
"""

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "oomctl")
WORK = os.environ.get("BENCH_DIR", "/tmp/oomctl-bench")
HDR = b"[ 1.000000] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
KILL = (b"[ 1.000005] Memory cgroup out of memory: Killed process 7 (w7) total-vm:4000kB, "
        b"anon-rss:400kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0\n")


def long_line(f, n):  # one line of n MiB after a header
    f.write(HDR.rstrip(b"\n") + b" ")
    chunk = b"A" * (1 << 20)
    for _ in range(n):
        f.write(chunk)
    f.write(b"\n")


def task_table(f, n):  # one report with n thousand task rows
    f.write(HDR)
    f.write(b"[ 1.000001] memory: usage 1024kB, limit 1024kB, failcnt 1\n")
    f.write(b"[ 1.000002] Tasks state (memory values in pages):\n")
    f.write(b"[ 1.000003] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name\n")
    for pid in range(n * 1000):
        f.write(b"[ 1.000004] [%7d]     0 %5d     1000      100    40960        0             0 w%d\n" % (pid, pid, pid))
    f.write(KILL)


def headers(f, n):  # n thousand headers, no kill line
    for i in range(n * 1000):
        f.write(b"[%d.000000] p%d invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
                % (100 + i * 20, i))


def binary(f, n):  # n MiB of NULs, invalid UTF-8 and OOM fragments
    unit = (b"[ 5.0] \xff\xfe\x00 invoked oom-killer: gfp_mask=0xcc0, order=0, oom_score_adj=0\x00\n"
            + b"\x00" * 100 + b"\n\xc3\x28\xa0\xa1\xe2\x28\xa1\n")
    block = unit * ((1 << 20) // len(unit))
    for _ in range(n):
        f.write(block)


def wrapped(f, n):  # n thousand reports whose stats lines are all wrapped
    for i in range(n * 1000):
        t = 10 + i
        f.write(b"[%d.000000] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n" % t)
        f.write(b"[%d.000001] memory: usage 1024kB, limit 1024kB, failcnt 1\n" % t)
        for k in range(20):
            f.write(b"[%d.000002] Memory cgroup stats for /a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w:\n" % t)
            f.write(b"cache %d rss %d\n" % (k, k))
        f.write(KILL.replace(b"[ 1.000005]", b"[%d.000005]" % t))


SHAPES = [
    ("64 MiB-style long line (MiB)", long_line, 16),
    ("task table rows (thousands)", task_table, 25),
    ("headers without kills (thousands)", headers, 5),
    ("NUL / invalid UTF-8 (MiB)", binary, 8),
    ("wrapped report lines (thousand reports)", wrapped, 2),
]


TIME = "/usr/bin/time"  # GNU time: the peak RSS of the exec'd binary alone


def run(path):
    """Best wall time of 3 runs, and the peak RSS (KiB) of the last, or 0
    without GNU time."""
    best, rss = None, 0
    for _ in range(3):
        cmd = [BIN, "analyze", "-f", "jsonl", "-j1", "-"]
        if os.path.exists(TIME):
            cmd = [TIME, "-f", "%M", "-o", os.path.join(WORK, "rss")] + cmd
        s = time.perf_counter()
        with open(path, "rb") as inp, open(os.devnull, "wb") as out:
            subprocess.run(cmd, stdin=inp, stdout=out, stderr=subprocess.DEVNULL)
        e = time.perf_counter() - s
        best = e if best is None else min(best, e)
        if os.path.exists(TIME):
            with open(os.path.join(WORK, "rss")) as f:
                rss = int(f.read().split()[-1])
    return best, rss


def main():
    quick = "--quick" in sys.argv
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    os.makedirs(WORK, exist_ok=True)
    worst = 0.0
    for name, gen, n in SHAPES:
        print(name)
        base = None
        for k in (1, 2, 4) if quick else (1, 2, 4, 8):
            path = os.path.join(WORK, "hostile-%s-%d" % (gen.__name__, k))
            with open(path, "wb") as f:
                gen(f, n * k)
            size = os.path.getsize(path) / (1 << 20)
            t, rss = run(path)
            base = base or t
            ratio = t / (k * base)
            worst = max(worst, ratio)
            print("  %6d  %8.1f MiB  %7.3f s  ratio %.2f  peak RSS %6d KiB" % (n * k, size, t, ratio, rss))
            os.unlink(path)
    print("worst ratio %.2f (1 = linear, k at step k = quadratic)" % worst)


if __name__ == "__main__":
    main()
