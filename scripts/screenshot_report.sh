#!/usr/bin/env bash
# Render a self-contained HTML report to a PNG with headless Chromium (installed if missing).
# Usage: scripts/screenshot_report.sh REPORT.html OUT.png
set -euo pipefail

if [ "$#" -ne 2 ]; then
    echo "usage: $0 REPORT.html OUT.png" >&2
    exit 2
fi
report="$1"
out="$2"
if [ ! -f "$report" ]; then
    echo "error: $report: no such file" >&2
    exit 2
fi

if ! command -v chromium >/dev/null 2>&1; then
    echo "chromium not found; installing it with apt-get (Debian package 'chromium')" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi

abs_report="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
mkdir -p "$(dirname "$out")"
abs_out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size=1400,2400 \
    --screenshot="$abs_out" "file://$abs_report"

if [ ! -s "$abs_out" ]; then
    echo "error: chromium wrote no screenshot to $abs_out" >&2
    exit 1
fi
echo "$abs_out"
