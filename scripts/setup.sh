#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine with Node 20: system packages, then
# the npm dependencies (which also builds the TypeScript into dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh "${1:-runtime}"
npm ci --no-audit --no-fund
echo "set-up done: try 'npx camconnect doctor', or 'npm start' for the demo"
