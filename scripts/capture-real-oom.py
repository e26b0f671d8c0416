#!/usr/bin/env python3
"""Cause real memcg OOM kills in this machine's cgroup-v1 memory controller
and capture the kernel's reports, in every container the lab can produce.

Safety (DEVELOPERS.md): only cgroups created here, under this process's own
memory cgroup; only processes started here; every cgroup removed at the end;
no sysctl, no sysrq, no limit on any existing cgroup. Limits are tens of MiB
on a 24 GiB machine, so a global OOM is impossible.

    sudo scripts/capture-real-oom.py OUTDIR [SCENARIO...]

For each scenario it writes OUTDIR/<scenario>.kmsg (raw /dev/kmsg records,
read from the position before the scenario started) and the same records as
`dmesg`, `dmesg -T`, `dmesg -r` and `dmesg -x` print them (the last lines of
the real dmesg(1) output, as many as kmsg records were captured, plus a few
lines of context before).
"""

import os
import signal
import subprocess
import sys
import time
import uuid

MEMCG_ROOT = "/sys/fs/cgroup/memory"
CONTEXT = 0

ALLOC_ANON = r"""
import sys, time
chunks = []
step = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20
while True:
    b = bytearray(step)
    for i in range(0, step, 4096):
        b[i] = 1
    chunks.append(b)
"""

ALLOC_SHMEM = r"""
import os, sys
path = sys.argv[1]
with open(path, "wb") as f:
    block = b"s" * (1 << 20)
    while True:
        f.write(block)
        f.flush()
"""

WRITER = r"""
import os, sys
# Hold some anonymous memory, then write a large file through the page cache.
anon = bytearray(int(sys.argv[2]))
for i in range(0, len(anon), 4096):
    anon[i] = 1
with open(sys.argv[1], "wb") as f:
    block = b"d" * (1 << 20)
    while True:
        f.write(block)
"""

IDLE = r"""
import sys, time
keep = bytearray(int(sys.argv[1]))
for i in range(0, len(keep), 4096):
    keep[i] = 1
time.sleep(60)
"""


def own_memcg():
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "memory" in controllers.split(","):
                return path
    sys.exit("no cgroup-v1 memory controller in /proc/self/cgroup")


class Lab:
    def __init__(self):
        self.base_rel = os.path.join(own_memcg(), "oomctl-lab-%d" % os.getpid())
        self.base = MEMCG_ROOT + self.base_rel
        self.created = []
        self.children = []
        self.mkdir("")

    def mkdir(self, rel, limit=None):
        path = os.path.join(self.base, rel) if rel else self.base
        os.makedirs(path, exist_ok=False) if not os.path.isdir(path) else None
        if path not in self.created:
            self.created.append(path)
        if limit is not None:
            with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
                f.write(str(limit))
        return path

    def spawn(self, rel, code, *args):
        cg = os.path.join(self.base, rel) if rel else self.base

        def enter():
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

        p = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], preexec_fn=enter)
        self.children.append(p)
        return p

    def wait_killed(self, procs, timeout=60):
        deadline = time.time() + timeout
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise SystemExit("scenario did not end in an OOM kill within %ds" % timeout)

    def close(self):
        for p in self.children:
            if p.poll() is None:
                p.kill()
                p.wait()
        for path in sorted(self.created, key=len, reverse=True):
            for _ in range(50):
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.1)


def kmsg_open():
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    os.lseek(fd, 0, os.SEEK_END)
    return fd


def kmsg_drain(fd):
    out = []
    while True:
        try:
            rec = os.read(fd, 8192)
        except BlockingIOError:
            break
        except BrokenPipeError:  # records overwritten while reading
            continue
        out.append(rec)
    os.close(fd)
    return b"".join(out)


def scenario_anon(lab):
    lab.mkdir("anon", 32 << 20)
    lab.wait_killed([lab.spawn("anon", ALLOC_ANON)])


def scenario_multi(lab):
    lab.mkdir("multi", 96 << 20)
    idle = [lab.spawn("multi", IDLE, n << 20) for n in (8, 16, 24)]
    time.sleep(1.5)
    hog = lab.spawn("multi", ALLOC_ANON)
    lab.wait_killed([hog])
    for p in idle:
        p.kill()
        p.wait()


def scenario_k8s(lab):
    pod = "kubepods/burstable/pod%s" % uuid.UUID(int=0x3F1C9A2E5B7D4C11A0E2B6F4D8C9E0A1)
    container = "0c1f" + "5e8d2a7b9c3f4a6e" * 3 + "1b2c3d4e5f60718"
    lab.mkdir("kubepods")
    lab.mkdir("kubepods/burstable")
    lab.mkdir(pod, 48 << 20)
    lab.mkdir(pod + "/pause-0000")
    lab.mkdir(pod + "/" + container)
    pause = lab.spawn(pod + "/pause-0000", IDLE, 1 << 20)
    time.sleep(1)
    lab.wait_killed([lab.spawn(pod + "/" + container, ALLOC_ANON)])
    pause.kill()
    pause.wait()


def scenario_shmem(lab):
    lab.mkdir("shmem", 32 << 20)
    path = "/dev/shm/oomctl-lab-%d" % os.getpid()
    try:
        lab.wait_killed([lab.spawn("shmem", ALLOC_SHMEM, path)])
    finally:
        if os.path.exists(path):
            os.unlink(path)


def scenario_writer(lab):
    lab.mkdir("writer", 48 << 20)
    path = "/var/tmp/oomctl-lab-%d.dat" % os.getpid()
    try:
        p = lab.spawn("writer", WRITER, path, 40 << 20)
        time.sleep(0.2)
        hog = lab.spawn("writer", ALLOC_ANON, 256 << 10)
        lab.wait_killed([hog, p], timeout=60)
    except SystemExit:
        raise
    finally:
        if os.path.exists(path):
            os.unlink(path)


def scenario_twice(lab):
    lab.mkdir("twice", 24 << 20)
    lab.wait_killed([lab.spawn("twice", ALLOC_ANON)])
    time.sleep(1.2)
    lab.wait_killed([lab.spawn("twice", ALLOC_ANON, 2 << 20)])


SCENARIOS = {
    "anon": scenario_anon,
    "multi": scenario_multi,
    "k8s": scenario_k8s,
    "shmem": scenario_shmem,
    "writer": scenario_writer,
    "twice": scenario_twice,
}


def dmesg_tail(args, n):
    out = subprocess.run(["dmesg", *args], capture_output=True, check=True).stdout
    lines = out.splitlines(keepends=True)
    return b"".join(lines[-(n + CONTEXT):])


def main():
    if os.geteuid() != 0:
        sys.exit("skip: needs root to create memory cgroups")
    if not os.path.isdir(MEMCG_ROOT):
        sys.exit("skip: no cgroup-v1 memory controller at " + MEMCG_ROOT)
    outdir = sys.argv[1]
    names = sys.argv[2:] or list(SCENARIOS)
    os.makedirs(outdir, exist_ok=True)
    for name in names:
        lab = Lab()
        fd = kmsg_open()
        try:
            SCENARIOS[name](lab)
            time.sleep(0.5)
        finally:
            lab.close()
        raw = kmsg_drain(fd)
        records = [r for r in raw.split(b"\n") if r and not r.startswith(b" ")]
        with open(os.path.join(outdir, name + ".kmsg"), "wb") as f:
            f.write(raw)
        for suffix, args in (("dmesg", []), ("dmesg-T", ["-T"]), ("dmesg-r", ["-r"]), ("dmesg-x", ["-x"])):
            with open(os.path.join(outdir, "%s.%s" % (name, suffix)), "wb") as f:
                f.write(dmesg_tail(args, len(records)))
        print("%s: %d kmsg records" % (name, len(records)))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
