#!/usr/bin/env bash
# Rebuilds frontend/vendor/plotly-cartesian.<hash>.min.js: the plotly.js partial distribution
# with only the cartesian traces (scatter, heatmap, bar, …), 1.5 MB against the full bundle's
# 4.8 MB, from the npm registry (npm pack: no install, no build). The name carries a hash of
# the content, so the server can send it with an immutable, year-long cache header; the script
# points frontend/index.html at the new name. The strict (CSP-safe) distribution is 5.2 MB, so
# parallel coordinates stay the hand-drawn SVG (frontend/js/parcoords.js).
set -euo pipefail
VERSION="${1:-4.1.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENDOR="$ROOT/frontend/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "plotly.js-cartesian-dist-min@$VERSION" >/dev/null && tar -xzf ./*.tgz)
HASH="$(sha256sum "$TMP/package/plotly-cartesian.min.js" | cut -c1-12)"
NAME="plotly-cartesian.$HASH.min.js"
mkdir -p "$VENDOR"
rm -f "$VENDOR"/plotly-cartesian.*.min.js
cp "$TMP/package/plotly-cartesian.min.js" "$VENDOR/$NAME"
cp "$TMP/package/LICENSE" "$VENDOR/plotly.js-LICENSE"
echo "plotly.js-cartesian-dist-min@$VERSION (npm), MIT: see plotly.js-LICENSE" >"$VENDOR/README"
sed -i -E "s#/static/vendor/plotly[^\"]*\.js#/static/vendor/$NAME#" "$ROOT/frontend/index.html"
echo "vendored $NAME"
