#!/usr/bin/env python3
"""Damage real captures the way logs get damaged in the field, to build
corpus/damage/: interleaved lines of other subsystems, terminal and mail
wrapping, e-mail quoting, truncation, a lost header (ring-buffer overrun),
reports out of order, the same report captured twice, two reports whose
lines interleave (two CPUs). The kernel lines themselves are real
(corpus/real/); only the damage is made here, deterministically.

    scripts/make-damage-samples.py corpus/real corpus/damage
"""

import os
import random
import sys


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def uptime(line):
    return float(line[1 : line.index("]")])


def stamp(t):
    return "[%5d.%06d]" % (int(t), round((t - int(t)) * 1e6))


NOISE = [
    "e1000e 0000:00:1f.6 eno1: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
    'audit: type=1400 audit(1795432571.120:311): apparmor="DENIED" operation="open" profile="snap.lxd"',
    "EXT4-fs (sda1): re-mounted 3a1f2c44-0d9e-4b1a-8f77-2c6d1e0b9a55 r/w. Quota mode: none.",
    "IPv6: ADDRCONF(NETDEV_CHANGE): veth7e1c2a0: link becomes ready",
    "cni0: port 3(veth7e1c2a0) entered forwarding state",
    "TCP: request_sock_TCP: Possible SYN flooding on port 10250. Sending cookies.",
]


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(42)
    anon = read(os.path.join(src, "6.18-v1-anon.dmesg.log"))
    multi = read(os.path.join(src, "6.18-v1-multi.dmesg.log"))
    twice = read(os.path.join(src, "6.18-v1-twice.kmsg.log"))
    k8s = read(os.path.join(src, "6.18-v1-k8s.dmesg.log"))

    def write(name, lines):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    # Other subsystems' lines between the report's lines, in time order.
    lines = []
    for line in anon:
        if rnd.random() < 0.3:
            lines.append("%s %s" % (stamp(uptime(line) - 0.000001), rnd.choice(NOISE)))
        lines.append(line)
    write("interleaved-noise.log", lines)

    # A terminal 80 columns wide, copied with its hard wraps.
    lines = []
    for line in anon:
        while len(line) > 80:
            lines.append(line[:80])
            line = line[80:]
        lines.append(line)
    write("wrapped-terminal-80.log", lines)

    # Pasted into an e-mail, wrapped at 72 columns (format=flowed keeps the
    # space at each soft break), then quoted in a reply.
    lines = ["On Mon, 23 Nov 2026, Ops wrote:", "> Our batch pod died again last night, dmesg below:", ">"]
    for line in k8s:
        while len(line) > 70:
            cut = line.rfind(" ", 0, 70)
            cut = 70 if cut <= 0 else cut + 1
            lines.append("> " + line[:cut])
            line = line[cut:]
        lines.append("> " + line)
    lines += [">", "> Any idea why?", "", "It hit the pod limit; see the memory: line."]
    write("email-quoted-wrapped.txt", lines)

    # The capture stops in the middle of the task table (a header without a
    # kill: incomplete), then a later complete report.
    cut = next(i for i, l in enumerate(multi) if "Tasks state" in l) + 3
    second = next(i for i, l in enumerate(multi) if i > 0 and "invoked oom-killer" in l)
    write("truncated.log", multi[:cut] + multi[second:])

    # A ring-buffer overrun ate the start of the first report: the log begins
    # with its last lines (task rows, oom-kill, the kill line).
    start = next(i for i, l in enumerate(multi) if "Tasks state" in l) + 2
    write("lost-header.log", multi[start:])

    # Rotated files concatenated in the wrong order: the later report first.
    second = next(i for i, l in enumerate(twice) if i > 0 and "invoked oom-killer" in l)
    write("out-of-order.kmsg", twice[second:] + twice[:second])

    # The same report captured twice (serial console and kmsg both logged).
    write("captured-twice.log", anon + anon)

    # Two CPUs reporting at once on a kernel with CONFIG_PRINTK_CALLER: the
    # same 6.18 report in two memcgs, lines interleaved, each line tagged with
    # its task's caller id (the second report's pids and cgroup renamed, its
    # times shifted by 3 µs).
    def caller(line, tid):
        end = line.index("]") + 1
        return "%s[T%d]%s" % (line[:end], tid, line[end:])

    other = [
        "%s %s"
        % (
            stamp(uptime(l) + 0.000003),
            l[l.index("]") + 2 :].replace("7569", "7669").replace("/anon", "/anon-b"),
        )
        for l in anon
    ]
    write(
        "two-cpus-interleaved.log",
        [x for a, b in zip(anon, other) for x in (caller(a, 7569), caller(b, 7669))],
    )


if __name__ == "__main__":
    main()
