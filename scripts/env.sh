#!/usr/bin/env bash
# Prints the environment that runs this project's Pulumi offline, as `export` lines:
#   eval "$(npm run -s env)"
# after which `pulumi config set activeColor green && pulumi up` works as written. The YAML
# language host's folder comes after the CLI's: a CLI that ships its own runs that one.
source "$(dirname "$0")/lib.sh"
PD="$(pulumi_bin)"
cat <<ENV
export PATH="$NODE_DIR/bin:$PD:$YAML_HOST_DIR:$ROOT/node_modules/.bin:$K8S_BIN:\$PATH"
export PULUMI_HOME="$BLUEGREEN_CACHE/pulumi-home"
export PULUMI_BACKEND_URL="file://$ROOT/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="\${PULUMI_CONFIG_PASSPHRASE:-}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
# Node's on-disk compile cache for every Node.js process Pulumi starts here (the program, the
# project's bluegreen plugin and the Node.js stand-ins): a switch starts about 0.3 s sooner.
export NODE_COMPILE_CACHE="\${NODE_COMPILE_CACHE:-$BLUEGREEN_CACHE/node-compile-cache}"
ENV
