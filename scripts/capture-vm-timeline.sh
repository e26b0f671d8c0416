#!/usr/bin/env bash
# Capture real recordings of sampled memory cgroups over time, on Debian's
# 6.1 in the VM lab, on cgroup v2 and v1, for the corpus (corpus/vm/,
# issue 17 "simulate over time").
#
#   scripts/capture-vm-timeline.sh [OUTDIR]      (default OUTDIR: corpus/vm)
#
# Safety: every OOM happens inside the VM lab (scripts/vm-lab: QEMU, TCG,
# 1 GiB guest, a fresh 256 MiB disk image in the run's temp dir, no
# network, no shared filesystem). On the host this script only boots the
# VM (one boot per cgroup version, one at a time) and copies files back;
# the lab formats the disk image on the host.
#
# Needs: `scripts/vm-lab setup` done (it fetches the disk modules and
# installs mkfs.ext4), `cargo build` (or OOMCTL_BIN).
#
# One boot per cgroup version runs scripts/vm-lab.d/timeline.sh (also run
# by tests/vm.rs) with `--disk ext4`: `oomctl record --cgroup /grow
# --cgroup /plateau --cgroup /cache --interval 0.2` for 32 s while /grow
# (64M) grows into one kernel OOM kill, /plateau (128M) holds 96% of its
# limit 8 s and frees down to half, and /cache (64M) reads a 192 MiB file
# through clean page cache; the scenario fails the capture unless the
# kernel killed exactly the grower and nothing else, and `oomctl replay`
# and `analyze` of the recording agree. Writes:
#   6.1-v2-timeline.rec   cgroup v2 (memory.max, memory.events)
#   6.1-v1-timeline.rec   cgroup v1 (the lab's --v1: a hybrid host)
# and prints what the scenario saw (what.txt) for each.
#
# Environment: CAPTURE_ONLY="v2" (or "v1") runs only that boot;
# CAPTURE_KEEP=DIR keeps everything each boot brought back (console,
# cgroup files, replay and analyze output) in DIR/v2/ and DIR/v1/.
#
# A new capture has new pids, timestamps and samples: the .facts.json
# beside each recording must then be written again from the new recording,
# and the goldens blessed again (scripts/bless).
# shellcheck source=capture-vm.common.sh
source "$(dirname "$0")/capture-vm.common.sh"

versions=(v2 v1)
[ -z "${CAPTURE_ONLY:-}" ] || read -r -a versions <<<"$CAPTURE_ONLY"
for v in "${versions[@]}"; do
    case $v in
        v2) flags=() ;;
        v1) flags=(--v1) ;;
        *) say "CAPTURE_ONLY takes v2 and v1, not $v"; exit 1 ;;
    esac
    mkdir -p "$WORK/$v"
    say "$v: booting"
    "$ROOT/scripts/vm-lab" run ${flags[@]+"${flags[@]}"} --disk ext4 --out "$WORK/$v" \
        "$ROOT/scripts/vm-lab.d/timeline.sh" \
        || { say "$v: the VM run failed (console: see above)"; exit 1; }
    sed "s/^/capture-vm-timeline: $v: /" "$WORK/$v/what.txt" >&2
    cp "$WORK/$v/timeline.rec" "$OUTDIR/6.1-$v-timeline.rec"
    [ -z "${CAPTURE_KEEP:-}" ] || cp -r "$WORK/$v" "$CAPTURE_KEEP/"
done
say "done: $(cd "$OUTDIR" && ls -- 6.1-v?-timeline.rec | tr '\n' ' ')"
