#!/usr/bin/env python3
"""Benchmark `oomctl guard` against the kernel's OOM killer (issue 12).

For a memory cgroup limited to 128 MiB at the guard's default margins
(threshold = limit - clamp(2 % of the limit, 1 MiB, 30 MiB): 125.44 MiB),
an allocator grows in it at a set rate until someone kills it; the guard
runs `--policy process` on the cgroup's parent. Per trial it records who
killed: the kernel (its own counter: `oom_kill` in memory.events on v2, in
memory.oom_control on v1) or the guard (no kernel kill, the allocator died
of SIGKILL, the guard's report names it, confirmed), and the guard's
`response_us`: from the threshold firing (v1: the usage threshold's
eventfd; v2: the inotify event on memory.events that memory.high, set to
the threshold by the guard, causes) to the victim's confirmed death.

Rates (MiB/s): 25 50 100 200 400 800 and unlimited (the allocator as fast
as it goes); N trials each (default 3), a fresh cgroup and a fresh guard
per trial. The allocator is the VM lab's (scripts/vm-lab.d/alloc.c: 1 MiB
mmaps, each page written, paced from its start). Before the trials it is
timed outside any limit (to its ready file, less the cost of starting it;
the median of 3 runs from 200 MiB/s up), so each rate has the speed it
really reached: "unlimited" gets a number, and a rate the machine cannot
reach shows it. That is the speed before the threshold; above it, on v2,
memory.high throttles the allocator (which is how the guard gets its time
there). Times in the scenario come from /proc/uptime (10 ms);
`response_us` is the guard's own, in microseconds.

Output: per hierarchy a table - rate; speed reached; guard first in
wins/trials; kernel kills; the guard's median and max response over its
wins; the allocator's median start-to-death time; its cgroup's peak usage
(memory.peak, memory.max_usage_in_bytes: 128.00 means it reached the
limit) - then "fastest growth beaten in every trial: X MiB/s; threshold
-> death median Y ms, max Z ms" (X: the fastest rate at which the guard
won every trial, at it and at every slower rate; Y, Z: over every trial
the guard won), and notes on anything odd (e.g. a guard report claiming a
kill the kernel's counter says the kernel made). Then the hierarchies side
by side. Raw results (per trial: the guard's JSON lines and stderr, the
cgroup's counters and peak) and report.txt stay in --out (default
target/bench-guard/run-DATE-TIME/).

    sudo scripts/bench-guard.py --vm [--trials N] [--rates 25,50,...,0] [--only v1|v2] [--out DIR] [--oomctl BIN]
    sudo scripts/bench-guard.py [--trials N] [--rates ...] [--out DIR] [--oomctl BIN]     (host mode)
    sudo scripts/bench-guard.py [TRIALS]                                  (host mode, as before)

--vm: in the VM lab (scripts/vm-lab; run `scripts/vm-lab setup` once): one
boot per hierarchy, cgroup v2 then v1, every rate and trial in that boot.
The lab's kernel is Debian's 6.1 under QEMU TCG (software emulation, 2
vCPUs): everything there - the guard's wake-up, /proc reads, the kill, the
allocator itself - is much slower than on real hardware, and the numbers
are the lab's, not a real machine's. They also depend on how busy the
host's cores are (the script prints the host's load per boot: run it on an
idle machine, and not beside `cargo test --test vm`). Default 3 trials:
about 2 minutes on the 2-core lab machine, plus the build.

Host mode (no --vm) is kept because only it measures real hardware: the
same trial script, run by the host's sh on this machine's own kernel, in
cgroup v1 under this process's memory cgroup, or v2 under /sys/fs/cgroup
where the root delegates `memory`; the allocator is built from alloc.c
into target/bench-guard/ (needs cc).

Both build the release binary first (`cargo build --release`) and run
target/release/oomctl (OOMCTL_BIN=target/release/oomctl for the lab): a
debug build's guard is slower and would be benchmarked instead. --oomctl
BIN benchmarks BIN instead (no build), e.g. a release build of a commit.

Safety: --vm causes OOMs only inside the VM (QEMU, no disk, no network, no
shared filesystem); the host only runs QEMU. Host mode causes real memcg
OOM kills on this machine whenever the kernel beats the guard - that is
what it measures - confined to the allocators it starts in its own child
cgroups, which it removes at the end; never run it where that is not
acceptable. Both need root (the lab's initramfs needs mknod; host mode
writes cgroupfs).
"""

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATES = [25, 50, 100, 200, 400, 800, 0]  # MiB/s; 0: as fast as the allocator goes
LIMIT_MB = 128
MIB = 1 << 20


def margin_bytes(limit):
    return min(max(limit * 2 // 100, MIB), 30 * MIB)


# The trials, as a shell script (POSIX sh: busybox in the VM, the host's sh
# in host mode). bench-guard.py puts RATES, TRIALS, LIMIT_MB, BENCH and TMPD
# above it; the lab (or host mode) gives OOMCTL, ALLOC, CG_VERSION, CG_ROOT
# and the helpers in-cgroup and wait-for. It writes into its cwd: `results`
# (one line per measurement) and a directory per trial.
TRIALS_SH = r"""
set -u
say() { echo "bench: $*"; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }
# Seconds since boot, to 10 ms: no fork.
now() { read -r up _ < /proc/uptime; echo "$up"; }
label() { if [ "$1" = 0 ]; then echo unlimited; else echo "$1 MiB/s"; fi; }

if [ "$CG_VERSION" = 2 ]; then
    limit_file=memory.max counters=memory.events peak_file=memory.peak
else
    limit_file=memory.limit_in_bytes counters=memory.oom_control peak_file=memory.max_usage_in_bytes
fi
kernel_kills() { sed -n 's/^oom_kill //p' "$1/$counters"; }
remove() {
    n=0
    while [ -d "$1" ] && ! rmdir "$1" 2>/dev/null; do
        n=$((n + 1))
        [ $n -lt 100 ] || { say "warning: cannot remove $1"; return 1; }
        sleep 0.05
    done
}
# alloc_ready CGROUP MB RATE: time the allocator from its start to its ready
# file (MB MiB held), outside any limit; prints "t0 t1".
alloc_ready() {
    rm -f "$TMPD/ready"
    if [ "$3" = 0 ]; then r=""; else r="--rate $3"; fi
    t0=$(now)
    # shellcheck disable=SC2086
    in-cgroup "$1" "$ALLOC" --mb "$2" $r --ready "$TMPD/ready" &
    p=$!
    n=0
    until [ -e "$TMPD/ready" ]; do
        n=$((n + 1))
        [ $n -lt 12000 ] || { kill -KILL $p 2>/dev/null; die "the allocator never got to $2 MiB"; }
        sleep 0.005
    done
    t1=$(now)
    kill -KILL $p 2>/dev/null
    wait $p 2>/dev/null
    echo "$t0 $t1"
}

root=$CG_ROOT/$BENCH
mkdir "$root" || die "mkdir $root"
if [ "$CG_VERSION" = 2 ]; then
    echo +memory > "$root/cgroup.subtree_control" || die "enabling memory in $root"
fi
uname -r > kernel
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' > cpu
grep -c '^processor' /proc/cpuinfo > cpus
: > results

# The allocator's own speed, in a cgroup without a limit: first the cost of
# starting it and seeing its ready file (--mb 0), then each rate.
cal=$root/cal
mkdir "$cal" || die "mkdir $cal"
for k in 1 2 3; do
    t=$(alloc_ready "$cal" 0 0) || exit 1
    echo "overhead $t" >> results
done
for rate in $RATES; do
    # About a second at each rate (64 to 256 MiB); three times where it is
    # short and the machine, not the pacing, sets the speed.
    reps="1 2 3" mb=256
    if [ "$rate" != 0 ]; then
        mb=$rate
        [ $mb -ge 64 ] || mb=64
        [ $mb -le 256 ] || mb=256
        [ $rate -ge 200 ] || reps=1
    fi
    for k in $reps; do
        t=$(alloc_ready "$cal" $mb $rate) || exit 1
        echo "speed $rate $mb $t" >> results
    done
    say "v$CG_VERSION allocator at $(label $rate): $mb MiB in $(echo $t | awk '{printf "%.2f", $2 - $1}') s (the last of $(echo $reps | wc -w); start-up included)"
done
remove "$cal"

app=$root/app
for rate in $RATES; do
    i=1
    while [ $i -le $TRIALS ]; do
        d=t-$rate-$i
        mkdir -p "$d"
        mkdir "$app" || die "mkdir $app"
        echo $((LIMIT_MB << 20)) > "$app/$limit_file" || die "setting the limit of $app"
        "$OOMCTL" guard --root "$root" --policy process > "$d/guard.jsonl" 2> "$d/guard.err" &
        guard=$!
        wait-for 30 grep -q guarding "$d/guard.err" || { cat "$d/guard.err" >&2; die "the guard did not start"; }
        if [ "$rate" = 0 ]; then r=""; else r="--rate $rate"; fi
        t0=$(now)
        # shellcheck disable=SC2086
        in-cgroup "$app" "$ALLOC" $r &
        pid=$!
        wait $pid
        status=$?
        t1=$(now)
        k=$(kernel_kills "$app")
        if [ "$k" = 0 ] && [ $status = 137 ]; then
            # The guard killed it: its report follows the death it confirmed.
            wait-for 10 test -s "$d/guard.jsonl" || say "warning: the allocator died of SIGKILL, no kernel kill, no guard report"
        else
            # The guard may still act on a crossing it saw.
            sleep 0.5
        fi
        kill -TERM $guard
        wait $guard
        gstatus=$?
        cp "$app/$counters" "$d/counters"
        cat "$app/$peak_file" > "$d/peak" 2>/dev/null
        echo "trial $rate $i $pid $status $t0 $t1 $gstatus" >> results
        us=$(sed -n 's/.*"response_us":\([0-9]*\).*/\1/p' "$d/guard.jsonl" | head -n 1)
        [ -z "$us" ] || us="$(echo $us | awk '{printf "%.1f", $1 / 1000}') ms"
        say "v$CG_VERSION $(label $rate) trial $i/$TRIALS: allocator exit $status, kernel oom_kill $k, guard response ${us:--}"
        remove "$app" || exit 1
        i=$((i + 1))
    done
done
remove "$root"
say done
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build():
    log("bench-guard: cargo build --release (the guard under test is target/release/oomctl)")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "oomctl")


def scenario_text(rates, trials, bench, tmpd):
    head = "RATES=%s TRIALS=%d LIMIT_MB=%d BENCH=%s TMPD=%s\n" % (
        shlex.quote(" ".join(str(r) for r in rates)),
        trials,
        LIMIT_MB,
        shlex.quote(bench),
        shlex.quote(tmpd),
    )
    return head + TRIALS_SH


def estimate_s(rates, trials):
    """A generous guess of one hierarchy's run under TCG, for the lab's timeout."""
    speed = lambda r: r if r else 100  # noqa: E731
    cal = 10 + sum((3 if r >= 200 else 1) * min(max(r, 64), 256) / speed(r) for r in rates if r) + 3 * 256 / speed(0)
    return cal + trials * sum(LIMIT_MB / speed(r) + 3 for r in rates)


class Tail(threading.Thread):
    """Print the scenario's progress lines ("bench: ...") from the console
    file as QEMU writes it. At the end scripts/vm-lab rewrites that file
    (without the \\r): the lines not yet printed are then taken from it."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.stop, self.printed = path, threading.Event(), 0

    def lines(self, text):
        return [l.strip("\r")[len("bench: "):] for l in text.split("\n") if l.strip("\r").startswith("bench: ")]

    def run(self):
        pos, buf = 0, ""
        while not self.stop.wait(0.5):
            try:
                with open(self.path, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except OSError:
                continue
            pos += len(data)
            buf += data.decode("utf-8", "replace")
            complete, buf = buf.rsplit("\n", 1) if "\n" in buf else ("", buf)
            for line in self.lines(complete):
                log("  " + line)
                self.printed += 1

    def finish(self):
        self.stop.set()
        self.join()
        try:
            final = self.lines(open(self.path, "rb").read().decode("utf-8", "replace"))
        except OSError:
            return
        for line in final[self.printed :]:
            log("  " + line)


def run_vm(version, rates, trials, out, oomctl):
    out = os.path.join(out, "v%d" % version)
    os.makedirs(out, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(scenario_text(rates, trials, "bench", "/tmp"))
        scenario = f.name
    timeout = int(2 * estimate_s(rates, trials) + 60)
    cmd = [os.path.join(ROOT, "scripts", "vm-lab"), "run", "--timeout", str(timeout), "--out", out]
    if version == 1:
        cmd.append("--v1")
    cmd.append(scenario)
    log("bench-guard: cgroup v%d in the VM lab (timeout %d s): %s" % (version, timeout, " ".join(cmd[1:])))
    console = os.path.join(out, "console.log")
    if os.path.exists(console):
        os.remove(console)
    tail = Tail(console)
    tail.start()
    t, load0 = time.monotonic(), os.getloadavg()[0]
    try:
        p = subprocess.run(cmd, env=dict(os.environ, OOMCTL_BIN=oomctl), stderr=subprocess.PIPE, text=True)
    finally:
        tail.finish()
        os.remove(scenario)
    took = time.monotonic() - t
    sys.stderr.write("".join("  " + line + "\n" for line in p.stderr.splitlines()))
    if p.returncode != 0:
        sys.exit("bench-guard: the v%d run failed (status %d); console: %s" % (version, p.returncode, console))
    return out, took, (load0, os.getloadavg()[0])


def host_layout():
    """(version, CG_ROOT) for host mode: v1 in this process's memory cgroup,
    else v2 under the root where it delegates memory."""
    for line in open("/proc/self/cgroup"):
        _, ctrl, path = line.rstrip("\n").split(":", 2)
        if "memory" in ctrl.split(","):
            return 1, "/sys/fs/cgroup/memory" + path.rstrip("/")
    try:
        if "memory" in open("/sys/fs/cgroup/cgroup.subtree_control").read().split():
            return 2, "/sys/fs/cgroup"
    except OSError:
        pass
    sys.exit("skip: no cgroup v1 memory controller, nor v2 with memory delegated at /sys/fs/cgroup (try --vm)")


def run_host(rates, trials, out, oomctl):
    version, cg_root = host_layout()
    out = os.path.join(out, "host")
    os.makedirs(out, exist_ok=True)
    alloc = os.path.join(ROOT, "target", "bench-guard", "alloc")
    os.makedirs(os.path.dirname(alloc), exist_ok=True)
    subprocess.run(["cc", "-O2", "-Wall", "-o", alloc, os.path.join(ROOT, "scripts", "vm-lab.d", "alloc.c")], check=True)
    bench = "oomctl-bench-guard-%d" % os.getpid()
    tmpd = tempfile.mkdtemp(prefix="bench-guard.")
    env = dict(
        os.environ,
        OOMCTL=oomctl,
        ALLOC=alloc,
        CG_VERSION=str(version),
        CG_ROOT=cg_root,
        PATH=os.path.join(ROOT, "scripts", "vm-lab.d", "bin") + ":" + os.environ.get("PATH", ""),
    )
    log("bench-guard: cgroup v%d on this host, in %s/%s (real memcg OOM kills here when the kernel wins)" % (version, cg_root, bench))
    t, load0 = time.monotonic(), os.getloadavg()[0]
    p = subprocess.Popen(
        ["sh", "-c", scenario_text(rates, trials, bench, tmpd)],
        cwd=out,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        for line in p.stdout:
            if line.startswith("bench: "):
                log("  " + line[len("bench: "):].rstrip("\n"))
        p.wait()
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
            p.wait()
        # What an interrupted run left: its processes, then its cgroups.
        base = os.path.join(cg_root, bench)
        for d in (os.path.join(base, "app"), os.path.join(base, "cal"), base):
            procs = os.path.join(d, "cgroup.procs")
            if os.path.exists(procs):
                for pid in open(procs).read().split():
                    try:
                        os.kill(int(pid), 9)
                    except OSError:
                        pass
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        shutil.rmtree(tmpd, ignore_errors=True)
    if p.returncode != 0:
        sys.exit("bench-guard: the host run failed (status %d)" % p.returncode)
    return out, time.monotonic() - t, (load0, os.getloadavg()[0])


# --- analysis ---------------------------------------------------------------


def kv(path):
    out = {}
    try:
        for line in open(path):
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                out[parts[0]] = int(parts[1])
    except OSError:
        pass
    return out


def read(path, default=""):
    try:
        return open(path).read().strip()
    except OSError:
        return default


def analyze(d):
    """The trials of one run directory, and the allocator's measured speeds."""
    overhead, speeds, trials = [], {}, []
    for line in open(os.path.join(d, "results")):
        f = line.split()
        if f[0] == "overhead":
            overhead.append(float(f[2]) - float(f[1]))
        elif f[0] == "speed":
            speeds.setdefault(int(f[1]), []).append((int(f[2]), float(f[4]) - float(f[3])))
        elif f[0] == "trial":
            rate, i, pid, status = int(f[1]), int(f[2]), int(f[3]), int(f[4])
            t = os.path.join(d, "t-%d-%d" % (rate, i))
            counters = kv(os.path.join(t, "counters"))
            reports = []
            for l in open(os.path.join(t, "guard.jsonl")):
                try:
                    reports.append(json.loads(l))
                except ValueError:
                    if l.strip():
                        reports.append({"action": "unreadable report: %r" % l[:80]})
            mine = re.compile(r"(^| )%d\(" % pid)
            kill = next((r for r in reports if r.get("action", "").startswith("kill") and mine.search(r.get("killed", ""))), None)
            kernel = counters.get("oom_kill", 0)
            if kernel:
                outcome = "kernel"
            elif kill and kill.get("confirmed") and status == 137:
                outcome = "guard"
            else:
                outcome = "other"
            trials.append(
                dict(
                    rate=rate,
                    trial=i,
                    pid=pid,
                    status=status,
                    lifetime=float(f[6]) - float(f[5]),
                    guard_status=int(f[7]),
                    kernel_kills=kernel,
                    counters=counters,
                    peak=int(read(os.path.join(t, "peak"), "0") or 0),
                    reports=reports,
                    kill=kill,
                    outcome=outcome,
                    response_ms=kill["response_us"] / 1000 if kill else None,
                )
            )
    base = statistics.median(overhead) if overhead else 0.0
    reached = {r: statistics.median(mb / max(s - base, 0.01) for mb, s in v) for r, v in speeds.items()}
    return dict(
        trials=trials,
        reached=reached,
        overhead=base,
        kernel=read(os.path.join(d, "kernel"), "?"),
        cpu=read(os.path.join(d, "cpu"), "?"),
        cpus=read(os.path.join(d, "cpus"), "?"),
    )


def rate_name(r):
    return "unlimited" if r == 0 else "%d" % r


def label(r):
    return "unlimited" if r == 0 else "%d MiB/s" % r


def ordered(rates):
    return sorted(rates, key=lambda r: (r == 0, r))


def summarize(a, rates):
    """Per-rate rows, the summary line, and notes on anything odd."""
    rows, notes, best, unbroken = [], [], None, True
    for r in ordered(rates):
        ts = [t for t in a["trials"] if t["rate"] == r]
        wins = [t for t in ts if t["outcome"] == "guard"]
        ms = sorted(t["response_ms"] for t in wins)
        rows.append(
            dict(
                rate=r,
                reached=a["reached"].get(r),
                wins=len(wins),
                n=len(ts),
                kernel=sum(1 for t in ts if t["outcome"] == "kernel"),
                median=statistics.median(ms) if ms else None,
                max=ms[-1] if ms else None,
                life=statistics.median(t["lifetime"] for t in ts) if ts else None,
                peak=max((t["peak"] for t in ts), default=0),
            )
        )
        if ts and len(wins) == len(ts) and unbroken:
            best = r
        elif ts:
            if not unbroken and len(wins) == len(ts):
                notes.append("the guard won every trial at %s, after losing one at a slower rate" % label(r))
            unbroken = False
        claimed = [t for t in ts if t["outcome"] == "kernel" and t["kill"]]
        if claimed:
            notes.append(
                "%s: in %d of %d trials the kernel killed first (its oom_kill counter), yet the guard's report says it killed the allocator (%s, confirmed, %s ms after its threshold)"
                % (label(r), len(claimed), len(ts), claimed[0]["kill"]["action"], ", ".join("%.1f" % t["response_ms"] for t in claimed))
            )
        for t in ts:
            if t["outcome"] == "other":
                notes.append(
                    "%s, trial %d: neither counted as a kill (allocator exit %d, kernel oom_kill %d, guard reports %s)"
                    % (label(r), t["trial"], t["status"], t["kernel_kills"], json.dumps([x.get("action") for x in t["reports"]]))
                )
            if t["guard_status"] != 0:
                notes.append("%s, trial %d: the guard exited %d on SIGTERM" % (label(r), t["trial"], t["guard_status"]))
            extra = [x for x in t["reports"] if x is not t["kill"]]
            if extra:
                notes.append("%s, trial %d: other guard reports: %s" % (label(r), t["trial"], "; ".join("%s %s" % (x.get("action"), x.get("killed")) for x in extra)))
    all_ms = sorted(t["response_ms"] for t in a["trials"] if t["outcome"] == "guard")
    if best is None:
        fastest = "none of the rates tried"
    elif best == 0:
        fastest = "unlimited (~%.0f MiB/s)" % a["reached"].get(0, float("nan"))
    elif a["reached"].get(best, best) < 0.95 * best:
        fastest = "%d MiB/s (the allocator reached ~%.0f)" % (best, a["reached"][best])
    else:
        fastest = "%d MiB/s" % best
    if all_ms:
        resp = "threshold → death median %.1f ms, max %.1f ms (%d kills)" % (statistics.median(all_ms), all_ms[-1], len(all_ms))
    else:
        resp = "threshold → death: no guard kill"
    return rows, "fastest growth beaten in every trial: %s; %s" % (fastest, resp), notes


def fmt(x, spec):
    return "-" if x is None else spec % x


def table(title, a, rates, trials, took, load):
    limit = LIMIT_MB * MIB
    rows, summary, notes = summarize(a, rates)
    out = [
        "%s: kernel %s, %s CPU(s) %s; %d MiB limit, threshold %.2f MiB (margin %.2f MiB), --policy process, %d trials per rate; took %.0f s, host load %.2f → %.2f"
        % (title, a["kernel"], a["cpus"], a["cpu"], LIMIT_MB, (limit - margin_bytes(limit)) / MIB, margin_bytes(limit) / MIB, trials, took, load[0], load[1]),
        "  %-10s %8s  %-11s %6s  %9s %9s  %13s  %8s" % ("rate MiB/s", "reached", "guard first", "kernel", "median ms", "max ms", "start→death s", "peak MiB"),
    ]
    for r in rows:
        out.append(
            "  %-10s %8s  %-11s %6d  %9s %9s  %13s  %8.2f"
            % (
                rate_name(r["rate"]),
                fmt(r["reached"], "%.0f"),
                "%d/%d" % (r["wins"], r["n"]),
                r["kernel"],
                fmt(r["median"], "%.1f"),
                fmt(r["max"], "%.1f"),
                fmt(r["life"], "%.2f"),
                r["peak"] / MIB,
            )
        )
    out.append(summary)
    out += ["  note: " + n for n in notes]
    return "\n".join(out), rows


def side_by_side(results, rates):
    """v1 and v2 (or whatever ran) per rate in one table."""
    names = [n for n, _ in results]
    head = "  %-10s" % "rate MiB/s" + "".join("  %-26s" % ("%s: guard, median/max ms" % n) for n in names)
    lines = [head]
    for i, r in enumerate(ordered(rates)):
        cells = []
        for _, rows in results:
            row = rows[i]
            cells.append(
                "  %-26s" % ("%d/%d, %s/%s" % (row["wins"], row["n"], fmt(row["median"], "%.1f"), fmt(row["max"], "%.1f")))
            )
        lines.append("  %-10s" % rate_name(r) + "".join(cells))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="Benchmark oomctl guard against the kernel's OOM killer (see the docstring).")
    ap.add_argument("legacy_trials", nargs="?", type=int, metavar="TRIALS", help="trials per rate (as --trials)")
    ap.add_argument("--vm", action="store_true", help="in the VM lab, cgroup v2 and v1 (else on this host)")
    ap.add_argument("--trials", type=int, default=None, help="trials per rate (default 3)")
    ap.add_argument("--rates", default=",".join(map(str, RATES)), help="MiB/s, comma-separated; 0 = unlimited")
    ap.add_argument("--only", choices=["v1", "v2"], help="--vm: one hierarchy only")
    ap.add_argument("--oomctl", metavar="BIN", help="benchmark this binary (a release build) instead of building target/release/oomctl")
    ap.add_argument("--out", help="keep the raw results here (default: a new directory under target/bench-guard/)")
    args = ap.parse_args()
    trials = args.trials or args.legacy_trials or 3
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    if trials < 1 or not rates or any(r < 0 for r in rates):
        sys.exit("bench-guard: --trials >= 1, --rates of MiB/s >= 0")
    if os.geteuid() != 0:
        sys.exit("skip: needs root")
    if args.vm and not os.path.exists(os.path.join(ROOT, "target", "vm-lab", "vmlinuz")):
        sys.exit("skip: the VM lab is not set up (scripts/vm-lab setup)")
    out = args.out or os.path.join(ROOT, "target", "bench-guard", time.strftime("run-%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    out = os.path.abspath(out)
    started = time.monotonic()
    oomctl = os.path.abspath(args.oomctl) if args.oomctl else build()
    results, texts = [], []
    if args.vm:
        for v in (2, 1):
            if args.only and args.only != "v%d" % v:
                continue
            d, took, load = run_vm(v, rates, trials, out, oomctl)
            text, rows = table("cgroup v%d in the VM lab (QEMU TCG)" % v, analyze(d), rates, trials, took, load)
            results.append(("v%d" % v, rows))
            texts.append(text)
            print(text + "\n", flush=True)
    else:
        d, took, load = run_host(rates, trials, out, oomctl)
        text, rows = table("this host", analyze(d), rates, trials, took, load)
        results.append(("host", rows))
        texts.append(text)
        print(text + "\n", flush=True)
    if len(results) > 1:
        text = "side by side (guard first in wins/trials, its median/max threshold → death):\n" + side_by_side(results, rates)
        texts.append(text)
        print(text + "\n")
    tail = "wall time %.0f s (build included); raw results in %s" % (time.monotonic() - started, out)
    texts.append(tail)
    print(tail)
    with open(os.path.join(out, "report.txt"), "w") as f:
        f.write("\n\n".join(texts) + "\n")


if __name__ == "__main__":
    main()
