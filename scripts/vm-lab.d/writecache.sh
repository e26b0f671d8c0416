# The write-cache scenario of issue 20 (seed 004 for real), a VM-lab
# scenario (scripts/vm-lab run --disk xfs --disk-write-bps 65536 [--v1]
# --file CONF:/wc.conf) shared by scripts/capture-vm-writecache.sh and
# tests/vm.rs. /wc.conf sets LIMIT (the memcg's limit, e.g. 32M) and RUN_S
# (how long dd may write before the scenario stops it, when the kernel
# does not kill it first).
#
# The guest's dirty limits are the seed's: vm.dirty_ratio 80,
# dirty_background_ratio 50, dirty_background_bytes 1 MiB; the disk takes
# 64 KiB/s of writes. In the memcg /wc, a buffered
#   dd if=/dev/zero of=/mnt/big bs=1M count=512
# fills the memcg with page cache that can only leave it by being written
# back, at 64 KiB/s. `oomctl watch -f jsonl --record wc.rec --cgroup /wc
# --interval 0.2` runs the whole time. On cgroup v1 the kernel OOM-kills dd
# (a page-cache write allocation, GFP_NOFS|__GFP_WRITE, that reclaim cannot
# satisfy: everything is dirty or under writeback); on v2, per-cgroup
# writeback throttles dd in balance_dirty_pages instead and no OOM comes.
#
# Leaves in /out: dmesg.log (from a marker on), kmsg.log (raw records),
# watch.jsonl, watch.err, wc.rec, replay.jsonl, analyze.jsonl (of
# dmesg.log), dd.status, dd.err, wc.events (v2 memory.events; v1
# memory.oom_control and failcnt), wc.stat, wc.peak, meminfo, uname and
# what.txt. Exits 0 when replay printed exactly what watch printed and dd
# ended; the caller checks what the kernel did.
set -u
[ -n "$DISK" ] || { echo "writecache: no disk (vm-lab run --disk xfs)"; exit 9; }
LIMIT=32M
RUN_S=20
[ -f /wc.conf ] && . /wc.conf
if [ "$CG_VERSION" = 2 ]; then limit_file=memory.max; else limit_file=memory.limit_in_bytes; fi
echo 80 > /proc/sys/vm/dirty_ratio
echo 50 > /proc/sys/vm/dirty_background_ratio
echo 1048576 > /proc/sys/vm/dirty_background_bytes
mkdir $CG_ROOT/wc && echo $LIMIT > $CG_ROOT/wc/$limit_file || exit 10
uname -r > /out/uname

# Capture from a marker on: raw kmsg and dmesg.
cat /dev/kmsg > /tmp/kmsg.all &
kmsg=$!
MARK="writecache: $LIMIT cgroup v$CG_VERSION starts"
echo "$MARK" > /dev/kmsg
wait-for 10 grep -q "$MARK" /tmp/kmsg.all || exit 11
dmesg -c > /dev/null

$OOMCTL watch -f jsonl --record /out/wc.rec --cgroup /wc --interval 0.2 > /out/watch.jsonl 2> /out/watch.err &
watch=$!
wait-for 30 grep -q watching /out/watch.err || exit 12
sleep 0.5
in-cgroup $CG_ROOT/wc dd if=/dev/zero of=$DISK/big bs=1M count=512 2> /out/dd.err &
dd=$!
t=0
while kill -0 $dd 2>/dev/null && [ $t -lt $((RUN_S * 5)) ]; do
    sleep 0.2
    t=$((t + 1))
done
stopped=0
if kill -0 $dd 2>/dev/null; then
    # Still writing (throttled, not killed): the scenario ends it. Its
    # dirty pages stay dirty: the lab's power-off does not sync.
    cp $CG_ROOT/wc/memory.stat /out/wc.stat.running
    kill -9 $dd
    stopped=1
fi
wait $dd
echo "$? $stopped" > /out/dd.status
# Let a report settle (an oom_reaper line comes later) and watch print it.
sleep 1.5
kill -TERM $watch
wait $watch
echo $? > /out/watch.status
kill $kmsg
dmesg > /out/dmesg.log
awk -v mark="$MARK" '
    /^[0-9]/ { rec = 1; if (after) keep = 1 }
    !/^[0-9]/ { rec = 0 }
    { if (keep) print }
    rec && index($0, ";" mark) { after = 1 }
' /tmp/kmsg.all > /out/kmsg.log
d=$CG_ROOT/wc
if [ "$CG_VERSION" = 2 ]; then
    cat $d/memory.events > /out/wc.events
    cat $d/memory.peak > /out/wc.peak 2>/dev/null
else
    { cat $d/memory.oom_control; echo "failcnt $(cat $d/memory.failcnt)"; } > /out/wc.events
    cat $d/memory.max_usage_in_bytes > /out/wc.peak
fi
cat $d/memory.stat > /out/wc.stat
cat /proc/meminfo > /out/meminfo
$OOMCTL replay -f jsonl /out/wc.rec > /out/replay.jsonl 2> /out/replay.err
$OOMCTL analyze -f jsonl /out/dmesg.log > /out/analyze.jsonl 2> /out/analyze.err
{
    echo "kernel $(cat /out/uname), cgroup v$CG_VERSION, limit $LIMIT, xfs at 64 KiB/s"
    echo "dd: exit and stopped-by-scenario $(cat /out/dd.status); $(tail -n 1 /out/dd.err)"
    echo "events: $(tr '\n' ' ' < /out/wc.events); peak $(cat /out/wc.peak)"
    echo "watch exit $(cat /out/watch.status): $(wc -l < /out/watch.jsonl) episodes; replay $(wc -l < /out/replay.jsonl); recording $(wc -c < /out/wc.rec) bytes"
    echo "dmesg $(wc -l < /out/dmesg.log) lines; analyze $(wc -l < /out/analyze.jsonl) episodes"
} > /out/what.txt
cat /out/what.txt
cmp -s /out/replay.jsonl /out/watch.jsonl || exit 20
exit 0
