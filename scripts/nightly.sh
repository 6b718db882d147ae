#!/usr/bin/env bash
# What cron calls: `scripts/nightly.sh CONFIG [extra args for judge nightly]`.
#
# - one night at a time: a lock (flock) on $NIGHTLY_DIR/nightly.lock; a second invocation while
#   one runs exits at once with code 75 and a message on stderr;
# - one log file per night: $NIGHTLY_DIR/logs/<config>-YYYY-MM-DD_HHMMSS.log (stdout + stderr);
# - the exit code of `judge nightly` is passed through: 0 ok, 1 regression, 2 bad input,
#   3 the run did not complete.
#
# Environment: NIGHTLY_DIR (default runs/nightly, relative to the current directory),
# NIGHTLY_LOCK (default $NIGHTLY_DIR/nightly.lock), JUDGE_BIN (default .venv/bin/judge of this
# checkout if present, else `judge` on PATH). See docs/nightly.md.
set -u

EXIT_LOCKED=75  # EX_TEMPFAIL: another night is still running

if [ $# -lt 1 ]; then
    echo "usage: $0 CONFIG [extra args for 'judge nightly']" >&2
    exit 2
fi
config=$1
shift

here=$(cd "$(dirname "$0")/.." && pwd)
nightly_dir=${NIGHTLY_DIR:-runs/nightly}
lock=${NIGHTLY_LOCK:-$nightly_dir/nightly.lock}
if [ -z "${JUDGE_BIN:-}" ]; then
    if [ -x "$here/.venv/bin/judge" ]; then JUDGE_BIN=$here/.venv/bin/judge; else JUDGE_BIN=judge; fi
fi

mkdir -p "$nightly_dir/logs" "$(dirname "$lock")" || exit 2
exec 9>>"$lock" || { echo "nightly: cannot open lock file $lock" >&2; exit 2; }
if ! flock -n 9; then
    echo "nightly: another nightly run holds $lock (pid $(cat "$lock.pid" 2>/dev/null || echo '?')); not starting" >&2
    exit $EXIT_LOCKED
fi
echo $$ >"$lock.pid"

name=$(basename "$config")
name=${name%.*}
log="$nightly_dir/logs/$name-$(date +%Y-%m-%d_%H%M%S).log"
{
    echo "# nightly $config started $(date -u +%Y-%m-%dT%H:%M:%SZ) (pid $$)"
    echo "# $JUDGE_BIN nightly $config $*"
} >>"$log"
"$JUDGE_BIN" nightly "$config" "$@" >>"$log" 2>&1
rc=$?
echo "# finished $(date -u +%Y-%m-%dT%H:%M:%SZ) with exit code $rc" >>"$log"
rm -f "$lock.pid"
case $rc in
    0) what="ok: nothing regressed" ;;
    1) what="REGRESSION: a gate failed" ;;
    2) what="bad input" ;;
    3) what="RUN FAILED: the run did not complete" ;;
    *) what="unexpected exit code" ;;
esac
echo "nightly $config: $what (exit $rc); log: $log"
exit $rc
