#!/bin/sh
# Regenerates assets/ from the npm packages pinned in npm/package-lock.json
# (run by `go generate ./internal/graphiql`; needs npm and network access).
# The generated files are committed, so building Gander needs neither.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp npm/package.json npm/package-lock.json "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
m="$work/node_modules"
# -n: no name or time stamp, so the same input gives the same bytes.
gz() { gzip -9 -n -c "$1" >"assets/$2.gz"; }
gz "$m/graphiql/graphiql.min.js" graphiql.min.js
gz "$m/graphiql/graphiql.min.css" graphiql.min.css
gz "$m/react/umd/react.production.min.js" react.production.min.js
gz "$m/react-dom/umd/react-dom.production.min.js" react-dom.production.min.js
cp "$m/graphiql/LICENSE" assets/LICENSE.graphiql.txt
cp "$m/react/LICENSE" assets/LICENSE.react.txt
cp "$m/react-dom/LICENSE" assets/LICENSE.react-dom.txt
