#!/bin/sh
# The image's entry point: start a Ray head node in this container when asked, then run the
# command (by default `trainscope serve --host 0.0.0.0 --port 8000`).
#
#   TRAINSCOPE_RAY_HEAD=1   run `ray start --head` first, so that the server's Ray executor
#                           (TRAINSCOPE_EXECUTOR=ray, TRAINSCOPE_RAY_ADDRESS=auto: the node in
#                           this container) and the worker nodes (`ray start
#                           --address=<this host>:6379`) have a cluster to join.
#   RAY_HEAD_PORT           the head's port (default 6379).
#   RAY_START_ARGS          more `ray start` flags, e.g. fixed ports for a firewall
#                           (docs/deploy.md).
#
# Worker containers run `ray start --address=... --block` as their command and leave
# TRAINSCOPE_RAY_HEAD unset.
set -eu

if [ "${TRAINSCOPE_RAY_HEAD:-0}" = "1" ]; then
    # RAY_START_ARGS is a list of flags: split on purpose.
    # shellcheck disable=SC2086
    ray start --head --port="${RAY_HEAD_PORT:-6379}" --dashboard-host=0.0.0.0 ${RAY_START_ARGS:-}
fi

exec "$@"
