# The start every scripts/capture-vm-*.sh shares, sourced right after its
# header: strict mode and an ERR trap that names the failing line, ROOT,
# OUTDIR (the script's first argument, default corpus/vm, made absolute),
# LAB, say(), the checks that the VM lab is set up and oomctl is built
# (OOMCTL_BIN, exported for the guest scenarios), and WORK, a scratch
# directory removed on exit. The script's name (without .sh) prefixes
# every message.
set -Eeuo pipefail
CAPTURE=$(basename "$0" .sh)
trap 'rc=$?; echo "$CAPTURE: FAILED: line $LINENO: \"$BASH_COMMAND\" exited $rc" >&2; exit 1' ERR

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=${1:-$ROOT/corpus/vm}
LAB=$ROOT/target/vm-lab
say() { echo "$CAPTURE: $*" >&2; }

[ -f "$LAB/vmlinuz" ] || { say "the VM lab is not set up: run scripts/vm-lab setup"; exit 1; }
export OOMCTL_BIN=${OOMCTL_BIN:-$ROOT/target/debug/oomctl}
[ -x "$OOMCTL_BIN" ] || { say "no oomctl at $OOMCTL_BIN: cargo build"; exit 1; }
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$CAPTURE.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
