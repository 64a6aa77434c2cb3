#!/bin/sh
# herald-watcher handler of the RSVP demo: runs when the set of rsvp instances changes.
# The delta comes in WATCH_* variables, the full current state as JSON on stdin.
cat >/dev/null # the full state as JSON; this handler only reports the delta
echo "[watcher] $WATCH_SERVICE changed at revision $WATCH_REVISION:" \
  "delta=$WATCH_DELTA added=[${WATCH_ADDED}] removed=[${WATCH_REMOVED}] now=$WATCH_COUNT instance(s)"
