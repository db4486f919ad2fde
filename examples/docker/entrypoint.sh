#!/bin/sh
# Run modelops on the registry mounted at /registry, or, when MODELOPS_GIT_URL is set and
# /registry holds no clone yet, clone it there first.
set -eu
if [ -n "${MODELOPS_GIT_URL:-}" ] && [ ! -e /registry/.git ]; then
    git clone --quiet --branch "${MODELOPS_GIT_BRANCH:-main}" "$MODELOPS_GIT_URL" /registry
fi
exec modelops "$@"
