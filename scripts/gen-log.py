#!/usr/bin/env python3
"""Generate a large, realistic kernel log for benchmarks: dmesg-format noise
from many subsystems (some of it mentioning memory, to exercise the slow
path) with real OOM reports from corpus/real spliced in at random points,
each re-timed to fit. Deterministic for a given seed.

    scripts/gen-log.py OUT SIZE_MIB [EPISODES] [--near-miss SHARE] [--tasks N] [--form FORM] [--seed N]

--near-miss SHARE: that share of the noise lines (0.05 = 5 %) are near
misses, lines that say "oom", "memory" or "Killed process" without being
part of a report (systemd-oomd, bloom filters, TCP memory pressure, memory
maps at boot, cgroup events); without it, 1 % of noise mentions memory.
--tasks N: pad every report's task table to N rows (a busy node's).
--form FORM: write the lines as FORM shows them: dmesg (the default),
syslog (journalctl -k, `Mmm dd HH:MM:SS host kernel: msg`), kern.log (the
same with dmesg's stamp after `kernel:`), rfc3339 (rsyslog's ISO stamps),
short-monotonic, dmesg-T or dmesg-iso; the wall clock is the uptime after
a fixed boot time. The same lines in every form (the file is as large, so
a longer stamp leaves room for fewer noise lines).
--seed N: another log of the same shape (7 by default): other noise, other
reports in other places, other pids, as another node's log would be.
Writes OUT.counts: lines, report lines, near-miss lines.
"""

import os
import random
import re
import sys
import time

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

# Near misses: lines a busy node logs that hold a phrase an OOM report has
# ("oom", "emory", "Killed process", "out of memory") without being one.
# Most cannot be told from a report line by one phrase; some (the "out of
# memory" ones, oom_score_adj) look even more like one.
NEAR_MISS = [
    "systemd-oomd[{p}]: Swap used (91.20%) >= 90.00% for > 20s: killing /user.slice/user-1000.slice",
    "systemd-oomd[{p}]: Considered {p} cgroups for killing, top candidates were:",
    "bloom filter: rebuilt {n} entries in {p} ms",
    "zoom[{n}]: segfault at 8 ip 00007f2c9d3b0 sp 00007ffd3a8 error 4 in libzoom.so",
    "kubelet[{n}]: eviction manager: attempting to reclaim memory",
    "TCP: out of memory -- consider tuning tcp_mem",
    "xhci_hcd 0000:00:14.0: Out of memory for urb {n}",
    "Memory: 16318048K/16776824K available ({p}K kernel code, 2580K rwdata, 9808K rodata)",
    "x86/mm: Memory block size: 128MB",
    "Freeing unused decrypted memory: 2036K",
    "memory: memory.events low={p} high={n} max=0 oom=0",
    "containerd[{n}]: setting oom_score_adj={p} for container {h}",
    "audit: type=1131 audit({n}.{p}): pid=1 uid=0 msg='unit=systemd-oomd comm=\"systemd\" res=success'",
    "cgroup: fork rejected by pids controller in /kubepods/pod{h} (room for {p} more)",
    "systemd[1]: session-{p}.scope: Killed process {n} (sshd) with signal SIGKILL.",
    "mm: memory hotplug: onlined {p} memory blocks",
    "nouveau 0000:01:00.0: DRM: VRAM: {n} MiB, memory type GDDR6",
    "Booting paravirtualized kernel on KVM; oom notifier registered",
]


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


def pad_tasks(rep, rows, rnd):
    """The report with its task table grown to `rows` rows, copies of its
    own first row under new pids (the victim's row stays)."""
    head = [i for i, m in enumerate(rep) if m.lstrip().startswith("[  pid  ]")]
    if not head or rows <= 0:
        return rep
    at = head[0] + 1
    end = at
    while end < len(rep) and re.match(r"^\[\s*\d+\]", rep[end]):
        end += 1
    have = rep[at:end]
    if not have or len(have) >= rows:
        return rep
    extra = []
    for _ in range(rows - len(have)):
        pid = rnd.randrange(100, 9999)
        extra.append(re.sub(r"^\[\s*\d+\](\s+\d+\s+)\d+", lambda m: "[%7d]%s%d" % (pid, m.group(1), pid), have[0]))
    return rep[:at] + extra + have + rep[end:]


BOOT = 1795400000  # the wall clock at uptime 0 (2026-11-22, UTC)
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


def stamper(form):
    """The function that writes a line's stamp and the blank after it, for
    uptime t, in FORM."""
    def parts(t):
        g = time.gmtime(BOOT + int(t))
        return g, "%5d.%06d" % (int(t), int((t % 1) * 1e6)), "%06d" % int((t % 1) * 1e6)

    def classic(g):
        return "%s %2d %02d:%02d:%02d" % (MONTHS[g.tm_mon - 1], g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec)

    def iso(g):
        return "%04d-%02d-%02dT%02d:%02d:%02d" % (g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec)

    forms = {
        "dmesg": lambda g, up, us: "[%s] " % up,
        "syslog": lambda g, up, us: "%s node-7 kernel: " % classic(g),
        "kern.log": lambda g, up, us: "%s node-7 kernel: [%s] " % (classic(g), up),
        "rfc3339": lambda g, up, us: "%s.%s+00:00 node-7 kernel: " % (iso(g), us),
        "short-monotonic": lambda g, up, us: "[%s] node-7 kernel: " % up,
        "dmesg-T": lambda g, up, us: "[%s %s %2d %02d:%02d:%02d %d] "
        % (DAYS[g.tm_wday], MONTHS[g.tm_mon - 1], g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, g.tm_year),
        "dmesg-iso": lambda g, up, us: "%s,%s+00:00 " % (iso(g), us),
    }
    if form not in forms:
        sys.exit("gen-log.py: no form %r (one of %s)" % (form, ", ".join(forms)))
    write = forms[form]
    return lambda t: write(*parts(t))


def main():
    args = sys.argv[1:]
    near_miss, tasks, form, seed = None, 0, "dmesg", 7
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i : i + 2]
    if "--form" in args:
        i = args.index("--form")
        form = args[i + 1]
        del args[i : i + 2]
    if "--near-miss" in args:
        i = args.index("--near-miss")
        near_miss = float(args[i + 1])
        del args[i : i + 2]
    if "--tasks" in args:
        i = args.index("--tasks")
        tasks = int(args[i + 1])
        del args[i : i + 2]
    stamp = stamper(form)
    path, size = args[0], int(args[1]) << 20
    episodes = int(args[2]) if len(args) > 2 else 200
    rnd = random.Random(seed)
    reps = [pad_tasks(r, tasks, rnd) for r in reports()]
    pools = (NEAR_MISS, near_miss) if near_miss is not None else (MEMORY_NOISE, MEMORY_SHARE)
    # Place the episodes at random byte offsets.
    marks = sorted(rnd.randrange(size) for _ in range(episodes))
    t = 5.0
    written = 0
    counts = {"lines": 0, "report_lines": 0, "near_miss": 0}
    with open(path, "w", encoding="utf-8") as f:
        buf = []
        for mark in marks + [size]:
            while written < mark:
                t += rnd.random() * 0.01
                pool = pools[0] if rnd.random() < pools[1] else NOISE
                counts["lines"] += 1
                counts["near_miss"] += pool is NEAR_MISS
                tmpl = pool[rnd.randrange(len(pool))]
                line = "%s%s\n" % (
                    stamp(t),
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
                line = "%s%s\n" % (stamp(t), m.replace("7569", pid))
                counts["lines"] += 1
                counts["report_lines"] += 1
                buf.append(line)
                written += len(line)
        f.write("".join(buf))
    # What the benchmark divides by.
    with open(path + ".counts", "w", encoding="utf-8") as f:
        f.write("%(lines)d %(report_lines)d %(near_miss)d\n" % counts)


if __name__ == "__main__":
    main()
