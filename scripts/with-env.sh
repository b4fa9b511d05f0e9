#!/usr/bin/env bash
# Runs a command in the project's offline Pulumi environment (see env.sh).
source "$(dirname "$0")/lib.sh"
eval "$("$(dirname "$0")/env.sh")"
exec "$@"
