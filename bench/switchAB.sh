#!/usr/bin/env bash
# A/B of index.ts variants on the switch's wall time, interleaved so that the machine's drift hits
# every variant alike: `pulumi up --yes --skip-preview` of a flip (what `npm run deploy` runs),
# N rounds, each round one flip per variant, on a throwaway Docker stack of the program itself.
#
#   bash bench/switchAB.sh N REV [REV...]     e.g. bash bench/switchAB.sh 6 HEAD~1 HEAD
#
# Each REV's index.ts (git show REV:index.ts) is put in place for its flips; everything else is
# the working tree. index.ts is restored at the end. Prints each flip's seconds and the median.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/env.sh)"
n="$1"; shift
stack="switchab-$$"
keep=$(mktemp); cp index.ts "$keep"
declare -A times
cleanup() {
  cp "$keep" index.ts
  pulumi destroy --yes --skip-preview --stack "$stack" >/dev/null 2>&1 || true
  pulumi stack rm --yes --force --stack "$stack" >/dev/null 2>&1 || true
  rm -f "Pulumi.$stack.yaml" "$keep"
}
trap cleanup EXIT
pulumi stack init "$stack" >/dev/null
pulumi config set --stack "$stack" bluegreen:proxyPort 18480 >/dev/null
pulumi config set --stack "$stack" bluegreen:previewPort 18481 >/dev/null
pulumi up --yes --skip-preview --stack "$stack" >/dev/null
color=blue
flip() { # flip REV: one switch with REV's index.ts; prints its seconds
  git show "$1:index.ts" >index.ts
  color=$([[ $color == blue ]] && echo green || echo blue)
  pulumi config set --stack "$stack" bluegreen:activeColor "$color" >/dev/null
  local t0 t1; t0=$(date +%s%N)
  pulumi up --yes --skip-preview --stack "$stack" >/dev/null
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) / 1e9 }'
}
for rev in "$@"; do flip "$rev" >/dev/null; done # warm ts-node's cache for each variant
for _ in $(seq "$n"); do
  for rev in "$@"; do times[$rev]="${times[$rev]:-} $(flip "$rev")"; done
done
for rev in "$@"; do
  # shellcheck disable=SC2086
  echo "$rev ($(git rev-parse --short "$rev")):${times[$rev]}  median $(printf '%s\n' ${times[$rev]} | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}') s"
done
