#!/usr/bin/env bash
# Capture real write-cache OOMs (issue 20, seed 004) on Debian's 6.1 in the
# VM lab, for the corpus (corpus/vm/).
#
#   scripts/capture-vm-writecache.sh [OUTDIR]      (default OUTDIR: corpus/vm)
#
# Safety: every OOM happens inside the VM lab (QEMU, TCG, 1 GiB guest, a
# fresh 512 MiB XFS image in the run's temp dir, writes throttled to
# 64 KiB/s). On the host this script only boots the VM (one boot per case,
# one at a time) and copies files back.
#
# Needs: `scripts/vm-lab setup` (disk modules, mkfs.xfs), `cargo build` (or
# OOMCTL_BIN).
#
# Each boot runs scripts/vm-lab.d/writecache.sh (also run by tests/vm.rs):
# a buffered dd into XFS in a memcg, with the seed's dirty limits, under
# `oomctl watch --record --cgroup /wc --interval 0.2`. Cases:
#   6.1-v1-writecache-32m   cgroup v1 (the lab's --v1), limit 32M: OOM
#   6.1-v1-writecache-64m   cgroup v1, limit 64M: on this lab machine
#                           no OOM (2 runs of 2): dd waits for writeback;
#                           the scenario stops it after 20 s
#   6.1-v2-writecache-64m   cgroup v2, limit 64M: no OOM (dd throttled;
#                           the scenario stops it after 20 s)
# Writes NAME.dmesg.log (v1 cases: the report as dmesg printed it) and
# NAME.rec (the watch recording with its samples), and prints what the
# scenario saw. A new capture has new pids and times: the .facts.json
# beside each file must then be written again, and the goldens blessed
# (scripts/bless).
#
# Environment: CAPTURE_ONLY="v1-32m v1-64m v2-64m" (any of them);
# CAPTURE_KEEP=DIR keeps everything each boot brought back in DIR/CASE/.
# shellcheck source=capture-vm.common.sh
source "$(dirname "$0")/capture-vm.common.sh"

cases=(v1-32m v1-64m v2-64m)
[ -z "${CAPTURE_ONLY:-}" ] || read -r -a cases <<<"$CAPTURE_ONLY"
for c in "${cases[@]}"; do
    case $c in
        v1-32m) flags=(--v1); limit=32M; oom=1 ;;
        v1-64m) flags=(--v1); limit=64M; oom=0 ;;
        v2-64m) flags=(); limit=64M; oom=0 ;;
        *) say "CAPTURE_ONLY takes v1-32m, v1-64m and v2-64m, not $c"; exit 1 ;;
    esac
    mkdir -p "$WORK/$c"
    printf 'LIMIT=%s\nRUN_S=20\n' "$limit" > "$WORK/$c.conf"
    say "$c: booting"
    "$ROOT/scripts/vm-lab" run "${flags[@]+"${flags[@]}"}" --timeout 240 --disk xfs --disk-write-bps 65536 \
        --out "$WORK/$c" --file "$WORK/$c.conf:/wc.conf" "$ROOT/scripts/vm-lab.d/writecache.sh" \
        || { say "$c: the VM run failed (console: see above)"; exit 1; }
    sed "s/^/capture-vm-writecache: $c: /" "$WORK/$c/what.txt" >&2
    kills=$(grep -E '^oom_kill ' "$WORK/$c/wc.events" | cut -d' ' -f2)
    [ "$kills" = "$oom" ] || { say "$c: the kernel killed $kills times, expected $oom"; exit 1; }
    cp "$WORK/$c/wc.rec" "$OUTDIR/6.1-$c-writecache.rec"
    [ "$oom" = 0 ] || cp "$WORK/$c/dmesg.log" "$OUTDIR/6.1-$c-writecache.dmesg.log"
    [ -z "${CAPTURE_KEEP:-}" ] || cp -r "$WORK/$c" "$CAPTURE_KEEP/"
done
say "done"
