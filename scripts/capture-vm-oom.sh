#!/usr/bin/env bash
# Capture real OOM-killer reports of a second real kernel, Debian's 6.1 on
# cgroup v2, for the corpus (corpus/vm/, issue 12 item 5).
#
#   scripts/capture-vm-oom.sh [OUTDIR]      (default OUTDIR: corpus/vm)
#
# Safety: every OOM happens inside the VM lab (scripts/vm-lab: QEMU, TCG,
# 1 GiB guest, no disk, no network, no shared filesystem). On the host this
# script only compiles a small static helper into target/vm-lab/, boots the
# VM (one boot per capture, one at a time) and copies files back. Nothing
# on the host is limited, killed or made to allocate beyond QEMU's 1 GiB
# guest.
#
# Needs: `scripts/vm-lab setup` done, `cargo build` (or OOMCTL_BIN), cc
# with static glibc (as the lab's own allocator).
#
# Captures (each from a fresh boot, so the kernel's OOM-report ratelimit
# starts afresh):
#   6.1-v2-memcg.dmesg.log, 6.1-v2-memcg.kmsg.log
#       an allocator grows in /memcg (memory.max 64M) until the kernel kills
#       it; the same OOM as dmesg (busybox dmesg, the kernel's syslog
#       format) and as raw /dev/kmsg records.
#   6.1-v2-group.dmesg.log
#       /group (memory.max 96M, memory.oom.group 1): two idle holders of
#       16 MiB and a grower; the kernel kills the whole group.
#   6.1-v2-shrink.dmesg.log
#       /shrink holds 64 MiB (one process), then the scenario's shell writes
#       32M to memory.max: the OOM is invoked by that write (comm sh).
#   6.1-v2-nokill.dmesg.log
#       /nokill (memory.max 32M): a 16 MiB holder and a one-shot grower,
#       both at oom_score_adj -1000; the grower faults in 48 MiB a page at
#       a time with madvise(MADV_POPULATE_WRITE): at the limit one report,
#       "Out of memory and no killable processes...", and that madvise
#       fails with ENOMEM (the grower stops, nothing is killed).
#   6.1-v2-burst.rec
#       `oomctl watch -f jsonl --record` while 12 allocators are killed one
#       after the other in /burst (memory.max 16M): the kernel prints 10
#       whole reports per 5 s and only the kill line of the rest; watch
#       names their cgroup from memory.events.local. In the VM,
#       `oomctl replay -f jsonl` of the recording must print exactly what
#       watch printed (else the capture fails).
#
# Logs start where the scenario starts: the scenario writes a marker into
# /dev/kmsg, clears the dmesg buffer (`dmesg -c`) right after it, and keeps
# only the kmsg records after the marker; nothing inside a report is edited.
# Each scenario checks in the guest that the kernel did what it should
# (exit statuses, memory.events) and fails the capture otherwise; what it
# saw is printed as "NAME: ...".
#
# Environment: CAPTURE_ONLY="memcg nokill" runs only those captures;
# CAPTURE_KEEP=DIR keeps everything each boot brought back (console, watch
# and replay output) in DIR/NAME/.
#
# A new capture has new pids, timestamps and counters: the .facts.json
# beside each file must then be written again from the new log, and the
# goldens blessed again (scripts/bless).
# shellcheck source=capture-vm.common.sh
source "$(dirname "$0")/capture-vm.common.sh"

# grow-once: set our own oom_score_adj, map N MiB and fault it in one page
# at a time with madvise(MADV_POPULATE_WRITE). The first page past the memcg
# limit is one OOM invocation; with nothing killable the kernel fails that
# madvise with ENOMEM (a page fault would be retried forever). The mapping
# is then unmapped before anything else is touched: even a copy-on-write
# fault in libc's data would retry forever in a full memcg.
cat > "$WORK/grow-once.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: grow-once MIB OOM_SCORE_ADJ\n");
		return 2;
	}
	size_t len = strtoul(argv[1], NULL, 10) << 20;
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0 || write(fd, argv[2], strlen(argv[2])) < 0) {
		perror("grow-once: oom_score_adj");
		return 2;
	}
	close(fd);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("grow-once: mmap");
		return 2;
	}
	size_t off;
	int err = 0;
	for (off = 0; off < len; off += 4096) {
		if (madvise(p + off, 4096, MADV_POPULATE_WRITE) != 0) {
			err = errno;
			break;
		}
	}
	munmap(p, len);
	if (err) {
		printf("grow-once: madvise failed after %zu KiB: %s\n", off >> 10, strerror(err));
		return 3;
	}
	printf("grow-once: populated %zu KiB\n", off >> 10);
	return 0;
}
EOF
cc -static -O2 -Wall -o "$WORK/grow-once" "$WORK/grow-once.c"

# Shared by every scenario: start capturing at a marker, stop after the
# last line expected.
cat > "$WORK/capture.sh" <<'EOF'
# start NAME: raw kmsg from here on, dmesg buffer cleared after the marker.
start() {
    cat /dev/kmsg > /tmp/kmsg.all &
    KMSG=$!
    MARK="capture-vm-oom: $1 starts"
    echo "$MARK" > /dev/kmsg
    wait-for 10 grep -q "$MARK" /tmp/kmsg.all || exit 90
    dmesg -c > /dev/null
}
# stop NAME PATTERN: wait for PATTERN in the log, then for the log to settle
# (an oom_reaper line comes later), write NAME.dmesg.log and NAME.kmsg.log.
stop() {
    wait-for 30 grep -q "$2" /tmp/kmsg.all || exit 91
    sleep 1
    kill $KMSG
    dmesg > /out/$1.dmesg.log
    # Records after the marker; a record's continuation lines (" KEY=…")
    # go with it.
    awk -v mark="$MARK" '
        /^[0-9]/ { rec = 1; if (after) keep = 1 }
        !/^[0-9]/ { rec = 0 }
        { if (keep) print }
        rec && index($0, ";" mark) { after = 1 }
    ' /tmp/kmsg.all > /out/$1.kmsg.log
    uname -r > /out/$1.uname
}
EOF

scenario_memcg() {
    cat <<'EOF'
. /capture.sh
cg=$CG_ROOT/memcg
mkdir $cg && echo 64M > $cg/memory.max || exit 10
start memcg
in-cgroup $cg $ALLOC &
pid=$!
wait $pid
st=$?
echo "alloc $pid exit $st" > /out/memcg.what
stop memcg 'Killed process'
cat $cg/memory.events >> /out/memcg.what
[ $st = 137 ] || exit 20
EOF
}

scenario_group() {
    cat <<'EOF'
. /capture.sh
cg=$CG_ROOT/group
mkdir $cg && echo 96M > $cg/memory.max && echo 1 > $cg/memory.oom.group || exit 10
in-cgroup $cg $ALLOC --mb 16 --ready /tmp/a.ready &
a=$!
in-cgroup $cg $ALLOC --mb 16 --ready /tmp/b.ready &
b=$!
wait-for 30 test -e /tmp/a.ready -a -e /tmp/b.ready || exit 11
start group
in-cgroup $cg $ALLOC &
g=$!
wait $g; gs=$?
wait $a; as=$?
wait $b; bs=$?
echo "holders $a exit $as, $b exit $bs; grower $g exit $gs" > /out/group.what
stop group 'going to be killed'
cat $cg/memory.events >> /out/group.what
[ "$gs $as $bs" = "137 137 137" ] || exit 20
EOF
}

scenario_shrink() {
    cat <<'EOF'
. /capture.sh
cg=$CG_ROOT/shrink
mkdir $cg || exit 10
in-cgroup $cg $ALLOC --mb 64 --ready /tmp/h.ready &
h=$!
wait-for 30 test -e /tmp/h.ready || exit 11
echo "before: memory.current $(cat $cg/memory.current), memory.max $(cat $cg/memory.max)" > /out/shrink.what
start shrink
echo "writer: shell pid $$" >> /out/shrink.what
echo 32M > $cg/memory.max
ws=$?
echo "echo 32M > memory.max: status $ws" >> /out/shrink.what
wait $h
hs=$?
echo "holder $h exit $hs" >> /out/shrink.what
stop shrink 'Killed process'
echo "after: memory.current $(cat $cg/memory.current), memory.max $(cat $cg/memory.max)" >> /out/shrink.what
cat $cg/memory.events >> /out/shrink.what
[ "$ws $hs" = "0 137" ] || exit 20
EOF
}

scenario_nokill() {
    cat <<'EOF'
. /capture.sh
cg=$CG_ROOT/nokill
mkdir $cg && echo 32M > $cg/memory.max || exit 10
in-cgroup $cg $ALLOC --mb 16 --ready /tmp/h.ready &
h=$!
wait-for 30 test -e /tmp/h.ready || exit 11
echo -1000 > /proc/$h/oom_score_adj || exit 12
start nokill
in-cgroup $cg /bin/grow-once 48 -1000 > /out/nokill.what 2>&1 &
g=$!
# At most 10 s, whatever happens: a -1000 grower must not loop. The killer
# stays out of the cgroup (it would be killable there).
( sleep 10; kill -9 $g 2>/dev/null ) &
killer=$!
wait $g
gs=$?
echo "grow-once $g exit $gs; holder $h oom_score_adj $(cat /proc/$h/oom_score_adj)" >> /out/nokill.what
kill $killer 2>/dev/null
stop nokill 'no killable processes'
kill -9 $h
cat $cg/memory.events >> /out/nokill.what
# ENOMEM from the one madvise, one report, nobody killed.
[ $gs = 3 ] || exit 20
[ "$(grep -c 'no killable processes' /out/nokill.dmesg.log)" = 1 ] || exit 21
! grep -q 'Killed process' /out/nokill.dmesg.log || exit 22
EOF
}

scenario_burst() {
    cat <<'EOF'
cg=$CG_ROOT/burst
mkdir $cg && echo 16M > $cg/memory.max || exit 10
$OOMCTL watch -f jsonl --record /out/burst.rec > /out/burst.watch.jsonl 2> /out/burst.watch.err &
watch=$!
wait-for 30 grep -q watching /out/burst.watch.err || exit 11
i=0
while [ $i -lt 12 ]; do
    in-cgroup $cg $ALLOC
    i=$((i + 1))
done
wait-for 30 sh -c '[ $(wc -l < /out/burst.watch.jsonl) -ge 12 ]' || exit 12
sleep 1
kill -TERM $watch
wait $watch
echo "watch exit $?" > /out/burst.what
cat $cg/memory.events.local >> /out/burst.what
grep -qx 'oom_kill 12' $cg/memory.events.local || exit 21
$OOMCTL replay -f jsonl /out/burst.rec > /out/burst.replay.jsonl 2> /out/burst.replay.err
if cmp /out/burst.watch.jsonl /out/burst.replay.jsonl; then
    echo "replay = watch: identical ($(wc -l < /out/burst.watch.jsonl) episodes)" >> /out/burst.what
else
    echo "replay differs from watch" >> /out/burst.what
    exit 20
fi
uname -r > /out/burst.uname
EOF
}

run() {
    local name=$1
    mkdir -p "$WORK/$name"
    "scenario_$name" > "$WORK/$name.sh"
    say "$name: booting"
    "$ROOT/scripts/vm-lab" run --out "$WORK/$name" \
        --file "$WORK/capture.sh:/capture.sh" --file "$WORK/grow-once:/bin/grow-once" \
        "$WORK/$name.sh" \
        || { say "$name: the VM run failed (console: see above)"; exit 1; }
    say "$name: $(tr '\n' ' ' < "$WORK/$name/$name.what")"
}

names=(memcg group shrink nokill burst)
[ -z "${CAPTURE_ONLY:-}" ] || read -r -a names <<<"$CAPTURE_ONLY"
for name in "${names[@]}"; do
    run "$name"
    v=6.1-v2-$name
    case $name in
        memcg)
            cp "$WORK/$name/$name.dmesg.log" "$OUTDIR/$v.dmesg.log"
            cp "$WORK/$name/$name.kmsg.log" "$OUTDIR/$v.kmsg.log" ;;
        burst)
            cp "$WORK/$name/burst.rec" "$OUTDIR/$v.rec" ;;
        *)
            cp "$WORK/$name/$name.dmesg.log" "$OUTDIR/$v.dmesg.log" ;;
    esac
    [ -z "${CAPTURE_KEEP:-}" ] || cp -r "$WORK/$name" "$CAPTURE_KEEP/"
done
say "done: $(cd "$OUTDIR" && ls -- 6.1-v2-* | grep -v -e '\.expected\.jsonl$' -e '\.facts\.json$' | tr '\n' ' ')"
