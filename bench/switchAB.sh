#!/usr/bin/env bash
# A/B of program revisions on the switch's wall time, interleaved so that the machine's drift hits
# every revision alike: `pulumi up --yes --skip-preview` of a flip (what `npm run deploy` runs),
# N rounds, each round one flip per revision, each revision on a throwaway Docker stack of its own.
#
#   bash bench/switchAB.sh N REV [REV...]     e.g. bash bench/switchAB.sh 8 da3e7bc HEAD
#
# Each REV is checked out whole in a worktree of its own (git worktree, this checkout's
# node_modules linked in), so that revisions which differ beyond index.ts compare as they are.
# Prints each flip's seconds and the median per revision.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
eval "$(bash scripts/env.sh)"
n="$1"; shift
declare -A times dir stack
port=18480
cleanup() {
  for rev in "${!dir[@]}"; do
    (cd "${dir[$rev]}" && pulumi destroy --yes --skip-preview --stack "${stack[$rev]}" >/dev/null 2>&1 || true
     pulumi stack rm --yes --force --stack "${stack[$rev]}" >/dev/null 2>&1 || true)
    git worktree remove --force "${dir[$rev]}" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
i=0
for rev in "$@"; do
  i=$((i + 1))
  dir[$rev]=$(mktemp -d /tmp/switchab-XXXXXX)
  rmdir "${dir[$rev]}"
  git worktree add --detach "${dir[$rev]}" "$rev" >/dev/null 2>&1
  ln -s "$root/node_modules" "${dir[$rev]}/node_modules"
  stack[$rev]="switchab-$$-$i"
  (cd "${dir[$rev]}"
   pulumi stack init "${stack[$rev]}" >/dev/null
   pulumi config set --stack "${stack[$rev]}" bluegreen:proxyPort "$port" >/dev/null
   pulumi config set --stack "${stack[$rev]}" bluegreen:previewPort "$((port + 1))" >/dev/null
   pulumi up --yes --skip-preview --stack "${stack[$rev]}" >/dev/null)
  port=$((port + 2))
done
flip() { # flip REV: one switch of REV's stack (to the color it does not serve); prints its seconds
  local rev="$1"
  (cd "${dir[$rev]}"
   # Read from the stack, not a shell variable: each timed flip runs in a subshell.
   local to; to=$([[ "$(pulumi config get --stack "${stack[$rev]}" bluegreen:activeColor 2>/dev/null || echo blue)" == blue ]] && echo green || echo blue)
   pulumi config set --stack "${stack[$rev]}" bluegreen:activeColor "$to" >/dev/null
   local t0 t1; t0=$(date +%s%N)
   pulumi up --yes --skip-preview --stack "${stack[$rev]}" >/dev/null
   t1=$(date +%s%N)
   awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) / 1e9 }')
}
for rev in "$@"; do flip "$rev" >/dev/null; done # warm ts-node's cache for each revision
for _ in $(seq "$n"); do
  for rev in "$@"; do times[$rev]="${times[$rev]:-} $(flip "$rev")"; done
done
for rev in "$@"; do
  # shellcheck disable=SC2086
  echo "$rev ($(git rev-parse --short "$rev")):${times[$rev]}  median $(printf '%s\n' ${times[$rev]} | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}') s"
done
