#!/bin/sh
# Writes the synthetic demo report of the MOCCAReport tests and photographs it with
# headless Chromium, to look at what a report looks like after changing its layout.
#
#   scripts/report-screenshot.sh [OUTPUT.png] [WINDOW-SIZE]
#
# Defaults: /tmp/mocca-report.png, 1200x2400. Needs `chromium` (apt-get install chromium).
set -eu
output=${1:-/tmp/mocca-report.png}
size=${2:-1200,2400}
folder=$(mktemp -d "${TMPDIR:-/tmp}/mocca-report-demo.XXXXXX")
trap 'rm -rf "$folder"' EXIT
cd "$(dirname "$0")/.."
MOCCA_REPORT_DEMO="$folder/report" swift test --filter 'ReportWriterTests/writesTheDemoReportWhenAsked' >/dev/null
test -f "$folder/report/index.html" || { echo "the demo report was not written" >&2; exit 1; }
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$output" \
    --window-size="$size" "file://$folder/report/index.html" 2>/dev/null
echo "$output"
