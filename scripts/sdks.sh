#!/usr/bin/env bash
# The bluegreen package's Python and Go SDKs, generated from providers/bluegreen/schema.json:
#
#   bash scripts/sdks.sh OUT_DIR      → OUT_DIR/python (pulumi_bluegreen), OUT_DIR/go/bluegreen
#
# With `pulumi package gen-sdk` where the CLI has the language's host (pulumi-language-python,
# pulumi-language-go: a CLI from Pulumi's release archive). Where it has not (the CLI built here:
# the Go module proxy refuses those hosts' modules), with scripts/gensdk, which calls the same
# generators, github.com/pulumi/pulumi/pkg/v3/codegen/{python,go} at the version its go.mod pins;
# built once (about 2 min) and cached. One line per language says which.
source "$(dirname "$0")/lib.sh"
out="${1:?usage: bash scripts/sdks.sh OUT_DIR}"
schema="$ROOT/providers/bluegreen/schema.json"
src="$ROOT/scripts/gensdk"
pkg_version=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { sub(/^v/, "", $2); print $2; exit }' "$src/go.mod")
gensdk="$BLUEGREEN_CACHE/gensdk-pkg-v$pkg_version-$(cat "$src/main.go" "$src/go.mod" | sha256sum | cut -c1-12)/gensdk"

build_gensdk() {
  [[ -x "$gensdk" ]] && return 0
  command -v go >/dev/null || die "no pulumi-language-$1 and no Go to build scripts/gensdk: install Go, or the Pulumi CLI from its release archive"
  mkdir -p "$(dirname "$gensdk")"
  step "scripts/gensdk: building (pkg/v3 v$pkg_version's code generators; once, cached in $(dirname "$gensdk"))"
  (cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$gensdk.part" .) >&2 || die "building scripts/gensdk failed"
  mv "$gensdk.part" "$gensdk"
}

mkdir -p "$out"
for lang in python go; do
  rm -rf "${out:?}/$lang"
  if command -v "pulumi-language-$lang" >/dev/null; then
    pulumi package gen-sdk "$schema" --language "$lang" --out "$out" >&2
    step "sdk $lang: pulumi package gen-sdk"
  else
    build_gensdk "$lang"
    "$gensdk" "$lang" "$schema" "$out/$lang"
    step "sdk $lang: scripts/gensdk, the generators of pkg/v3 v$pkg_version (no pulumi-language-$lang here)"
  fi
done
