#!/usr/bin/env python3
"""Re-wrap a real /dev/kmsg capture in the other log containers oomctl reads,
following each container's real format (REFERENCE.md §3), to build
corpus/containers/. The kernel lines are the real ones; only the envelope is
written here, so every container sample carries the same report.

    scripts/make-container-samples.py corpus/real/6.18-v1-twice.kmsg.log corpus/containers

Wall clocks are derived from the kmsg timestamps and a fixed boot time, so
the output is reproducible.
"""

import datetime as dt
import gzip
import json
import os
import sys

BOOT = dt.datetime(2026, 11, 23, 9, 54, 34, tzinfo=dt.timezone.utc)
HOST = "lab-node-1"
BOOT_ID = "8d2f4c6a0b1e4f3a9c7d5e2b1a0f9e8d"


def records(path):
    out = []
    with open(path, "rb") as f:
        for raw in f:
            raw = raw.rstrip(b"\n")
            if not raw or raw.startswith(b" "):
                continue
            head, msg = raw.split(b";", 1)
            prio, seq, usec = head.split(b",")[:3]
            out.append((int(prio), int(seq), int(usec), msg.decode("utf-8", "replace")))
    return out


def wall(usec):
    return BOOT + dt.timedelta(microseconds=usec)


def ts(usec):
    return "[%5d.%06d]" % (usec // 1000000, usec % 1000000)


def classic(usec):
    w = wall(usec)
    return w.strftime("%b ") + ("%2d" % w.day) + w.strftime(" %H:%M:%S")


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    recs = records(src)
    os.makedirs(outdir, exist_ok=True)

    def write(name, lines, opener=open):
        with opener(os.path.join(outdir, name), "wt", encoding="utf-8") as f:
            for line in lines:
                f.write(line + "\n")

    noise = [
        "systemd[1]: Started session-12.scope - Session 12 of User root.",
        "sshd[2211]: Accepted publickey for root from 10.0.0.5 port 50522 ssh2",
    ]

    # Debian kern.log (rsyslog traditional format, imklog keeps printk time).
    lines = ["%s %s %s" % (classic(recs[0][2] - 2000000), HOST, noise[0])]
    lines += ["%s %s kernel: %s %s" % (classic(u), HOST, ts(u), m) for _, _, u, m in recs]
    lines.append("%s %s %s" % (classic(recs[-1][2] + 1000000), HOST, noise[1]))
    write("kern.log", lines)
    write("kern.log.2.gz", lines, opener=gzip.open)

    # rsyslog with RFC 3339 high-precision timestamps (Debian 12 default).
    write(
        "messages-rfc3339",
        [
            "%s %s kernel: %s"
            % (wall(u).isoformat(timespec="microseconds").replace("+00:00", "+00:00"), HOST, m)
            for _, _, u, m in recs
        ],
    )

    # journalctl -k (short), -o short-iso, -o short-monotonic.
    head = "-- Boot %s --" % BOOT_ID
    write("journalctl-k.txt", [head] + ["%s %s kernel: %s" % (classic(u), HOST, m) for _, _, u, m in recs])
    write(
        "journalctl-k-short-iso.txt",
        [wall(u).strftime("%Y-%m-%dT%H:%M:%S+0000") + " %s kernel: %s" % (HOST, m) for _, _, u, m in recs],
    )
    write(
        "journalctl-k-short-monotonic.txt",
        [head] + ["%s %s kernel: %s" % (ts(u), HOST, m) for _, _, u, m in recs],
    )

    # journalctl -k -o json.
    js = []
    for prio, seq, u, m in recs:
        rt = int(wall(u).timestamp() * 1000000)
        js.append(
            json.dumps(
                {
                    "__CURSOR": "s=0a1b;i=%x;b=%s;m=%x;t=%x;x=0" % (seq, BOOT_ID, u, rt),
                    "__REALTIME_TIMESTAMP": str(rt + 512),
                    "__MONOTONIC_TIMESTAMP": str(u + 512),
                    "_BOOT_ID": BOOT_ID,
                    "_TRANSPORT": "kernel",
                    "PRIORITY": str(prio & 7),
                    "SYSLOG_FACILITY": "0",
                    "SYSLOG_IDENTIFIER": "kernel",
                    "_HOSTNAME": HOST,
                    "_SOURCE_MONOTONIC_TIMESTAMP": str(u),
                    "MESSAGE": m,
                },
                separators=(",", ":"),
            )
        )
    write("journalctl-k.json", js)

    # Fluent Bit kmsg input, json_lines output.
    write(
        "fluent-bit-kmsg.jsonl",
        [
            json.dumps(
                {
                    "date": round(wall(u).timestamp(), 6),
                    "priority": p & 7,
                    "sequence": seq,
                    "sec": u // 1000000,
                    "usec": u % 1000000,
                    "msg": m,
                },
                separators=(",", ":"),
            )
            for p, seq, u, m in recs
        ],
    )

    # dmesg -T under Chinese and French locales (strftime "%a %b %e %H:%M:%S %Y").
    zh_wd = "一二三四五六日"
    fr_wd = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
    fr_mon = ["janv.", "févr.", "mars", "avril", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
    for name, fmt in (
        ("dmesg-T-zh_CN.txt", lambda w: "%s %d月 %2d" % (zh_wd[w.weekday()], w.month, w.day)),
        ("dmesg-T-fr_FR.txt", lambda w: "%s %s %2d" % (fr_wd[w.weekday()], fr_mon[w.month - 1], w.day)),
    ):
        write(name, ["[%s %s] %s" % (fmt(wall(u)), wall(u).strftime("%H:%M:%S %Y"), m) for _, _, u, m in recs])

    # A remote rsyslog that received the report in multi-line chunks and
    # escaped the newlines as #012 (and tabs as #011).
    chunks = []
    for i in range(0, len(recs), 8):
        part = recs[i : i + 8]
        u = part[0][2]
        chunks.append(
            "%s %s kernel: %s %s" % (classic(u), HOST, ts(u), "#012".join(m.replace("\t", "#011") for *_, m in part))
        )
    write("rsyslog-escaped.log", chunks)

    # A central syslog server receiving two nodes whose reports interleave
    # line by line (the second node's clock and pids shifted).
    other = "lab-node-2"
    a = ["%s %s kernel: %s %s" % (classic(u), HOST, ts(u), m) for _, _, u, m in recs]
    b = [
        "%s %s kernel: %s %s" % (classic(u), other, ts(u - 1500000), m.replace("75", "95"))
        for _, _, u, m in recs
    ]
    write("two-hosts.log", [x for pair in zip(a, b) for x in pair])


if __name__ == "__main__":
    main()
