#!/usr/bin/env python3
"""Generate a large, realistic kernel log for benchmarks: dmesg-format noise
from many subsystems (some of it mentioning memory, to exercise the slow
path) with real OOM reports from corpus/real spliced in at random points,
each re-timed to fit. Deterministic for a given seed.

    scripts/gen-log.py OUT SIZE_MIB [EPISODES]
"""

import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NOISE = [
    "e1000e 0000:00:1f.6 eno1: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
    'audit: type=1400 audit(1795432571.120:{n}): apparmor="DENIED" operation="open" profile="snap.lxd" name="/proc/{n}/mounts" pid={n} comm="lxd"',
    "EXT4-fs (sda1): re-mounted 3a1f2c44-0d9e-4b1a-8f77-2c6d1e0b9a55 r/w. Quota mode: none.",
    "IPv6: ADDRCONF(NETDEV_CHANGE): veth{h}: link becomes ready",
    "cni0: port {p}(veth{h}) entered forwarding state",
    "cni0: port {p}(veth{h}) entered disabled state",
    "device veth{h} entered promiscuous mode",
    "TCP: request_sock_TCP: Possible SYN flooding on port 10250. Sending cookies.  Check SNMP counters.",
    "overlayfs: upper fs does not support RENAME_WHITEOUT.",
    "nfs: server 10.0.0.{p} not responding, still trying",
    "usb 1-1: new high-speed USB device number {p} using xhci_hcd",
    "kvm: vcpu {p}: requested 191999 ns lapic timer period limited to 200000 ns",
    "python3[{n}]: segfault at 0 ip 00007f3f3218c0ba sp 00007ffe27bcff38 error 4 in libc.so.6[7f3f32100000+195000]",
    "INFO: task kworker/u8:{p}:{n} blocked for more than 120 seconds.",
    "systemd-journald[{p}]: Data hash table of /var/log/journal/8d2f/system.journal has a fill level at 75.0 (1533 of 2044 items, 577536 file size, 376 bytes per hash table item), suggesting rotation.",
    "docker0: port {p}(veth{h}) entered blocking state",
]


# Lines that mention memory (and so take oomctl's slow path): about 1 in 100
# lines of a busy node's log, as on the nodes the seeds describe.
MEMORY_NOISE = [
    "Freeing unused kernel image (initmem) memory: 3376K",
    "x86/mm: Memory block size: 128MB",
    "hv_balloon: Max. dynamic memory size: {n} MB",
    "TCP: out of memory -- consider tuning tcp_mem",
    "nvme nvme0: Shutdown timeout set to 8 seconds; host memory buffer of {n} KiB",
    "kauditd_printk_skb: {p} callbacks suppressed (bloom filter room {n})",
]
MEMORY_SHARE = 0.01


def reports():
    out = []
    for name in ("6.18-v1-anon.dmesg.log", "6.18-v1-multi.dmesg.log", "6.18-v1-k8s.dmesg.log", "6.18-v1-shmem.dmesg-x.log"):
        text = open(os.path.join(ROOT, "corpus", "real", name), encoding="utf-8").read()
        msgs = [re.sub(r"^(kern  :\w+\s*: )?\[\s*\d+\.\d+\] ", "", l) for l in text.splitlines()]
        # Split multi-report captures at their headers.
        cur = []
        for m in msgs:
            if "invoked oom-killer" in m and cur:
                out.append(cur)
                cur = []
            cur.append(m)
        out.append(cur)
    return out


def main():
    path, size = sys.argv[1], int(sys.argv[2]) << 20
    episodes = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    rnd = random.Random(7)
    reps = reports()
    # Place the episodes at random byte offsets.
    marks = sorted(rnd.randrange(size) for _ in range(episodes))
    t = 5.0
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        buf = []
        for mark in marks + [size]:
            while written < mark:
                t += rnd.random() * 0.01
                pool = MEMORY_NOISE if rnd.random() < MEMORY_SHARE else NOISE
                tmpl = pool[rnd.randrange(len(pool))]
                line = "[%5d.%06d] %s\n" % (
                    int(t),
                    int((t % 1) * 1e6),
                    tmpl.format(n=rnd.randrange(1, 99999), p=rnd.randrange(1, 64), h="%07x" % rnd.randrange(1 << 28)),
                )
                buf.append(line)
                written += len(line)
                if len(buf) >= 4096:
                    f.write("".join(buf))
                    buf = []
            if mark == size:
                break
            rep = reps[rnd.randrange(len(reps))]
            pid = str(rnd.randrange(10000, 99999))
            for m in rep:
                t += 0.000011
                line = "[%5d.%06d] %s\n" % (int(t), int((t % 1) * 1e6), m.replace("7569", pid))
                buf.append(line)
                written += len(line)
        f.write("".join(buf))


if __name__ == "__main__":
    main()
