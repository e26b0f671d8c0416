# The timeline scenario of issue 17 ("simulate over time"), a VM-lab
# scenario (scripts/vm-lab run --disk ext4 [--v1]) shared by
# scripts/capture-vm-timeline.sh and tests/vm.rs. Three memory cgroups,
# sampled every 0.2 s by `oomctl record` while, at the same time:
#   /grow     memory limit 64M: the allocator grows 8 MiB/s until the
#             kernel OOM-kills it (one real memcg OOM);
#   /plateau  limit 128M: the allocator grows to 123 MiB (96%: past the
#             guard's threshold limit - clamp(limit*ratio, 1, 30 MiB) for
#             ratio 0.05 (121.6 MiB) and 0.1 (115.2 MiB), below the limit),
#             holds 8 s, frees down to 64 MiB (50%), holds 8 s, exits 0: no
#             OOM (the false-kill case);
#   /cache    limit 64M: cat reads a 192 MiB file of the disk to /dev/null,
#             twice; the cgroup fills with clean page cache that reclaim
#             keeps under the limit: no OOM (the cache rule's case).
# The file is written, synced and dropped from the cache before recording,
# so the reads charge fresh clean cache to /cache. The recording lasts 32 s
# (about 160 samples of each cgroup): past the 30 s after each cgroup's
# first, whole sample, so the recording also has the whole samples its
# rule takes near the limit or after a counter moved.
#
# Leaves in /out: timeline.rec, record.err, replay.jsonl, analyze.jsonl
# (and .err), for each cgroup C: C.status (exit status), C.events
# (memory.events on v2; memory.oom_control and failcnt on v1), C.stat
# (memory.stat), C.peak (memory.peak on v2, max_usage_in_bytes on v1);
# what.txt says it all in a few lines. Exits non-zero unless the kernel
# did what is described above.
set -u
if [ "$CG_VERSION" = 2 ]; then limit_file=memory.max; else limit_file=memory.limit_in_bytes; fi
[ -n "$DISK" ] || { echo "timeline: no disk (vm-lab run --disk ext4)"; exit 9; }
for c in grow:64M plateau:128M cache:64M; do
    mkdir $CG_ROOT/${c%%:*} && echo ${c#*:} > $CG_ROOT/${c%%:*}/$limit_file || exit 10
done
dd if=/dev/zero of=$DISK/big bs=1M count=192 2> /out/dd.err || exit 11
sync
echo 3 > /proc/sys/vm/drop_caches
uname -r > /out/uname
$OOMCTL record -o /out/timeline.rec --cgroup /grow --cgroup /plateau --cgroup /cache --interval 0.2 2> /out/record.err &
rec=$!
wait-for 30 grep -q watching /out/record.err || exit 12
t0=$(cut -d. -f1 /proc/uptime)
sleep 1
in-cgroup $CG_ROOT/grow $ALLOC --rate 8 &
grow=$!
in-cgroup $CG_ROOT/plateau $ALLOC --mb 123 --rate 20 --hold 8 --then-free-to 64 &
plateau=$!
in-cgroup $CG_ROOT/cache sh -c 'cat $0 > /dev/null && cat $0 > /dev/null' $DISK/big &
cache=$!
echo "grow $grow plateau $plateau cache $cache" > /out/pids
wait $grow; echo $? > /out/grow.status
wait $cache; echo $? > /out/cache.status
wait $plateau; echo $? > /out/plateau.status
while [ "$(cut -d. -f1 /proc/uptime)" -lt $((t0 + 32)) ]; do sleep 0.2; done
kill -TERM $rec
wait $rec
echo $? > /out/record.status
for c in grow plateau cache; do
    d=$CG_ROOT/$c
    if [ "$CG_VERSION" = 2 ]; then
        cat $d/memory.events > /out/$c.events
        cat $d/memory.peak > /out/$c.peak 2>/dev/null
    else
        { cat $d/memory.oom_control; echo "failcnt $(cat $d/memory.failcnt)"; } > /out/$c.events
        cat $d/memory.max_usage_in_bytes > /out/$c.peak
    fi
    cat $d/memory.stat > /out/$c.stat
done
$OOMCTL replay -f jsonl /out/timeline.rec > /out/replay.jsonl 2> /out/replay.err
$OOMCTL analyze -f jsonl /out/timeline.rec > /out/analyze.jsonl 2> /out/analyze.err
{
    echo "kernel $(cat /out/uname), cgroup v$CG_VERSION; pids $(cat /out/pids)"
    for c in grow plateau cache; do
        echo "$c: exit $(cat /out/$c.status); peak $(cat /out/$c.peak 2>/dev/null); $(grep -E '^(oom|oom_kill|failcnt) ' /out/$c.events | tr '\n' ' ')"
    done
    echo "record exit $(cat /out/record.status), $(wc -c < /out/timeline.rec) bytes; replay $(wc -l < /out/replay.jsonl) episodes"
} > /out/what.txt
cat /out/what.txt
kills() { grep '^oom_kill ' /out/$1.events | cut -d' ' -f2; }
[ "$(cat /out/grow.status)" = 137 ] || exit 20
[ "$(cat /out/plateau.status)" = 0 ] || exit 21
[ "$(cat /out/cache.status)" = 0 ] || exit 22
[ "$(kills grow)" = 1 ] || exit 23
[ "$(kills plateau)" = 0 ] || exit 24
[ "$(kills cache)" = 0 ] || exit 25
cmp -s /out/replay.jsonl /out/analyze.jsonl || exit 26
exit 0
