#!/usr/bin/env python3
"""Write a synthetic recording (format version 3) of cgroup samples and
kernel OOMs, for `oomctl simulate --over-time`'s benchmark and tests.

    scripts/gen-samples.py [--cgroups N] [--hours H] [--interval S]
                           [--seed N] -o FILE

Each cgroup (limit 256 MiB to 2 GiB) follows one of four lives, drawn at
random with a fixed seed:
- steady (60%): usage wanders well below the limit;
- grower (20%): usage climbs at its own rate to the limit, where the
  kernel kills (a whole memcg OOM report, as kmsg records, between two
  samples), then the cgroup starts again from its base;
- plateau (10%): climbs to 97-99.5% of the limit, stays a while, falls
  back (a guard with a wide margin kills there for nothing);
- cache (10%): near the limit, most of it clean page cache.

Samples are written as `oomctl record` writes them: a `sampling` entry,
then each interval a compact sample per cgroup, whole (`sample`, with
memory.stat and three processes) for a cgroup's first, every 30 s while
within 60 MiB of its limit, and every 5 minutes. The facts (how many OOMs
per cgroup, when) are printed to stderr as JSON.
"""
import argparse
import json
import random
import sys

MIB = 1 << 20
BOOT_US = 1_795_000_000_000_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cgroups", type=int, default=200)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    out = open(a.output, "w", buffering=1 << 20)
    w = out.write
    w(json.dumps({"t": "header", "version": 3, "source": "/dev/kmsg",
                  "host": {"hostname": "gen", "kernel": "6.1.0-48-amd64", "boot_id": "gen-samples",
                           "page_size": 4096, "boot_time_us": BOOT_US, "started": None}},
                 separators=(",", ":")) + "\n")
    cgs = []
    for i in range(a.cgroups):
        limit = rnd.choice([256, 512, 1024, 2048]) * MIB
        life = rnd.choices(["steady", "grower", "plateau", "cache"], [60, 20, 10, 10])[0]
        base = int(limit * (rnd.uniform(0.95, 0.99) if life == "cache" else rnd.uniform(0.1, 0.4)))
        cgs.append({
            "path": f"/kubepods/burstable/pod{i:04d}/c{i:04d}",
            "limit": limit, "life": life, "base": base, "usage": base,
            # Bytes per second.
            "rate": limit * rnd.uniform(0.0005, 0.01),
            "phase": "up", "hold": 0.0, "failcnt": 0, "oom_kill": 0,
            "last_whole": None, "pid": 1000 + 10 * i,
        })
    w(json.dumps({"t": "sampling", "cgroups": [c["path"] for c in cgs], "interval_s": a.interval},
                 separators=(",", ":")) + "\n")
    seq = [1000]
    facts = {"ooms": 0, "samples": 0, "whole": 0}

    def record(up, level, text):
        seq[0] += 1
        us = int(up * 1e6)
        w('{"t":"record","r":%s}\n' % json.dumps(f"{level},{seq[0]},{us},-;{text}"))

    def oom(c, up):
        kb = c["limit"] // 1024
        pid = c["pid"]
        name = c["path"]
        record(up, 4, f"app invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0")
        record(up, 6, f"memory: usage {kb}kB, limit {kb}kB, failcnt {c['failcnt']}")
        record(up, 6, f"Memory cgroup stats for {name}:")
        record(up, 6, "Tasks state (memory values in pages):")
        record(up, 6, "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name")
        rss = c["limit"] // 4096 - 100
        record(up, 6, f"[{pid:>7}]     0 {pid:>5} {rss + 2000:>8} {rss:>8}  2000000        0             0 app")
        record(up, 6, f"[{pid + 1:>7}]     0 {pid + 1:>5}     3000       90    60000        0             0 sidecar")
        record(up, 6, f"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                      f"oom_memcg={name},task_memcg={name},task=app,pid={pid},uid=0")
        record(up, 3, f"Memory cgroup out of memory: Killed process {pid} (app) total-vm:{(rss + 2000) * 4}kB, "
                      f"anon-rss:{rss * 4}kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1953kB oom_score_adj:0")
        w('{"t":"settle","all":false}\n')
        facts["ooms"] += 1

    steps = int(a.hours * 3600 / a.interval)
    for k in range(1, steps + 1):
        up = round(k * a.interval, 2)
        for ci, c in enumerate(cgs):
            lim = c["limit"]
            life = c["life"]
            if life == "steady":
                c["usage"] = max(MIB, int(c["base"] + rnd.uniform(-0.02, 0.02) * lim))
            elif life == "grower":
                c["usage"] += int(c["rate"] * a.interval * rnd.uniform(0.5, 1.5))
                if c["usage"] >= lim:
                    c["failcnt"] += 50
                    c["oom_kill"] += 1
                    oom(c, up - a.interval * rnd.uniform(0.1, 0.9))
                    c["usage"] = c["base"]
                    c["pid"] += 1
            elif life == "plateau":
                if c["phase"] == "up":
                    c["usage"] += int(c["rate"] * a.interval)
                    top = lim * rnd.uniform(0.97, 0.995)
                    if c["usage"] >= top:
                        c["usage"] = int(top)
                        c["phase"], c["hold"] = "hold", rnd.uniform(30, 600)
                elif c["phase"] == "hold":
                    c["hold"] -= a.interval
                    if c["hold"] <= 0:
                        c["phase"], c["usage"] = "up", c["base"]
            else:
                # A slow walk between 95% and 99.5% of the limit.
                c["usage"] = int(min(0.995 * lim, max(0.95 * lim, c["usage"] + rnd.uniform(-0.002, 0.002) * lim)))
            usage = min(c["usage"], lim)
            cache = int(usage * 0.8) if life == "cache" else int(usage * 0.05)
            near = usage + 60 * MIB >= lim
            lw = c["last_whole"]
            whole = lw is None or up - lw >= 300 or (near and up - lw >= 30)
            facts["samples"] += 1
            if whole:
                c["last_whole"] = up
                facts["whole"] += 1
                snap = {
                    "path": c["path"], "version": "v2", "origin": "live", "time": None, "uptime_s": up,
                    "host": "gen", "usage_bytes": usage, "limit_bytes": lim, "peak_bytes": None, "failcnt": None,
                    "events": {"low": 0, "high": 0, "max": c["failcnt"], "oom": c["oom_kill"],
                               "oom_kill": c["oom_kill"]},
                    "oom_control": {},
                    "stat": {"anon": usage - cache, "file": cache, "shmem": 0, "file_dirty": 0,
                             "file_writeback": 0},
                    "pressure": [],
                    "processes": [
                        {"pid": c["pid"], "comm": "app", "oom_score": 600, "oom_score_adj": 0,
                         "rss_bytes": max(0, usage - cache - 4 * MIB)},
                        {"pid": c["pid"] + 1 if life != "grower" else 5, "comm": "sidecar", "oom_score": 10,
                         "oom_score_adj": 0, "rss_bytes": 3 * MIB},
                        {"pid": 1, "comm": "pause", "oom_score": 0, "oom_score_adj": -998, "rss_bytes": MIB},
                    ],
                    "guard": None,
                }
                w('{"t":"sample","snapshot":%s}\n' % json.dumps(snap, separators=(",", ":")))
            else:
                w('{"t":"compact","c":%d,"up":%s,"usage":%d,"limit":%d,"max":%d,"oom_kill":%d,"cache":[%d,0,0,0]}\n'
                  % (ci, up, usage, lim, c["failcnt"], c["oom_kill"], cache))
    out.close()
    json.dump(facts, sys.stderr)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
