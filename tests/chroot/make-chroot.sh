#!/usr/bin/env bash
# Runs a command beside a fresh Debian 12 (bookworm) system: a chroot made from
# a cached debootstrap, thrown away afterwards.
#
#   make-chroot.sh [--cache DIR] [--include PKG,PKG...] [--keep] [--] COMMAND [ARGS...]
#
# COMMAND runs on the host's side with $MT_CHROOT naming the chroot's root, in
# which /proc, /sys, /dev (with /dev/pts) are mounted and `apt-get update` has
# been run; it enters with `chroot "$MT_CHROOT" ...`.  Everything happens in a
# private mount and PID namespace: the mounts, and every process started in
# the chroot, end with COMMAND however it ends (error, Ctrl-C, SIGKILL), and
# none of them is ever seen by the host.  The chroot's files are then deleted
# (--keep leaves them and prints where); a run killed before it could delete
# them is cleaned by the next run (so is one kept with --keep).
#
# The base system, `debootstrap --variant=minbase bookworm` plus --include, is
# made once per package list and kept in the cache (default: $MT_CHROOT_CACHE,
# else build/chroot-cache in the tree); each run works on an overlay of it (a
# copy where overlayfs is not available).  It comes from the Debian mirror apt
# uses on this machine (/etc/apt/sources.list*), or $MT_DEBIAN_MIRROR.
# Services never start inside: /usr/sbin/policy-rc.d refuses them.
#
# Exit: COMMAND's status; 77 when no chroot can be made here (not root, a tool
# missing, no mount namespace, the mirror unreachable), with the reason on
# stderr; 1 on another failure.
set -euo pipefail

SUITE=bookworm
SELF=$(readlink -f "$0")
TREE=$(cd "$(dirname "$SELF")/../.." && pwd)

say() { printf 'make-chroot: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
cannot() { say "cannot make a chroot here: $*"; exit 77; }

# ---------------------------------------------------------------- inside
# `make-chroot.sh --inside RUN BASE COMMAND...`: PID 1 of the new namespaces.
if [ "${1:-}" = --inside ]; then
    run=$2 base=$3
    shift 3
    root=$run/root
    mkdir -p "$root" "$run/upper" "$run/work"
    if ! mount -t overlay overlay -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" \
        "$root" 2>/dev/null; then
        cp -a --reflink=auto "$base/." "$root/"
    fi
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    printf '#!/bin/sh\n# make-chroot.sh: no service starts in this chroot.\nexit 101\n' \
        >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    chroot "$root" apt-get update -qq >"$run/apt-update.log" 2>&1 ||
        { cat "$run/apt-update.log" >&2; die "apt-get update failed in the chroot"; }
    export MT_CHROOT=$root
    status=0
    "$@" || status=$?
    exit "$status"
fi

# ---------------------------------------------------------------- outside
CACHE=${MT_CHROOT_CACHE:-$TREE/build/chroot-cache}
INCLUDE=
KEEP=
while [ $# -gt 0 ]; do
    case $1 in
        --cache) CACHE=${2:?--cache needs a directory}; shift 2 ;;
        --include) INCLUDE=${2:?--include needs a package list}; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --) shift; break ;;
        -*) die "unknown option $1" ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || die "usage: make-chroot.sh [--cache DIR] [--include PKG,...] [--keep] [--] COMMAND [ARGS...]"

[ "$(id -u)" -eq 0 ] || cannot "needs root (debootstrap, chroot, mounts)"
for tool in debootstrap unshare setpriv chroot flock findmnt; do
    command -v "$tool" >/dev/null || cannot "$tool is not installed"
done
unshare --mount --pid --fork true 2>/dev/null ||
    cannot "the kernel refuses a new mount and PID namespace (a container without CAP_SYS_ADMIN?)"

# "URI SUITE" of every bookworm suite (bookworm, -updates, -security) in apt's
# sources, one-line and deb822 formats.
apt_suites() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue # (a glob that matched nothing)
        awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++;
                           print $i, $(i + 1) }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'function flush() { if (types ~ /(^| )deb( |$)/) for (u in uris) for (s in suites) print uris[u], suites[s];
                                delete uris; delete suites; types = "" }
             /^[ \t]*$/ { flush(); next }
             /^URIs:/ { split(substr($0, 6), uris, " ") }
             /^Suites:/ { split(substr($0, 8), suites, " ") }
             /^Types:/ { types = substr($0, 7) }
             END { flush() }' "$f"
    done
}
SOURCES=$(apt_suites | awk -v s="$SUITE" '$2 == s || $2 == s "-updates" || $2 == s "-security"' | sort -u)
MIRROR=${MT_DEBIAN_MIRROR:-$(awk -v s="$SUITE" '$2 == s { print $1; exit }' <<<"$SOURCES")}
[ -n "$MIRROR" ] || cannot "no Debian $SUITE mirror in /etc/apt/sources.list*: set MT_DEBIAN_MIRROR"
if command -v curl >/dev/null; then
    curl -fsS -m 20 -o /dev/null "$MIRROR/dists/$SUITE/Release" 2>/dev/null ||
        cannot "the Debian mirror $MIRROR does not answer"
fi

# ---- the base system, made once per package list
key=$SUITE-minbase${INCLUDE:+-$(printf '%s' "$INCLUDE" | tr ',' '\n' | sort -u | paste -sd, | sha256sum | cut -c1-12)}
BASE=$CACHE/$key
mkdir -p "$CACHE/runs"
exec 8>"$CACHE/$key.lock"
flock 8
if [ ! -f "$BASE/.complete" ]; then
    ! findmnt -rn -o TARGET | grep -qF "$BASE" || die "something is mounted under $BASE"
    rm -rf "$BASE" "$BASE.tmp"
    say "debootstrap $SUITE from $MIRROR${INCLUDE:+ with $INCLUDE} (cached in $BASE)"
    start=$(date +%s)
    # In its own mount namespace: the /proc and /sys it mounts in the target
    # go with it, even when it is killed.
    unshare --mount --propagation private debootstrap --variant=minbase ${INCLUDE:+--include="$INCLUDE"} "$SUITE" "$BASE.tmp" "$MIRROR" \
        >"$CACHE/$key.log" 2>&1 || { tail -n 30 "$CACHE/$key.log" >&2; die "debootstrap failed (log: $CACHE/$key.log)"; }
    # The chroot's apt uses the suites the host uses, security updates included.
    if [ -n "${MT_DEBIAN_MIRROR:-}" ]; then
        echo "deb $MIRROR $SUITE main"
    else
        awk '{ print "deb", $1, $2, "main" }' <<<"$SOURCES"
    fi >"$BASE.tmp/etc/apt/sources.list"
    chroot "$BASE.tmp" apt-get clean
    touch "$BASE.tmp/.complete"
    mv "$BASE.tmp" "$BASE"
    say "debootstrap took $(($(date +%s) - start)) s"
fi
exec 8>&-

# ---- runs that were killed before deleting their files, then this run (one
# process at a time here, so that no run is taken for dead while it starts)
exec 7>"$CACHE/runs.lock"
flock 7
for old in "$CACHE"/runs/run.*; do
    [ -d "$old" ] || continue
    exec 6>>"$old.lock"
    if flock -n 6; then
        if findmnt -rn -o TARGET | grep -qF "$old/"; then
            say "left alone: something is mounted under $old"
        else
            rm -rf "$old" "$old.lock"
        fi
    fi
    exec 6>&-
done
RUN=$(mktemp -d "$CACHE/runs/run.XXXXXX")
exec 9>"$RUN.lock"
flock 9
exec 7>&-
cleanup() {
    if [ -n "$KEEP" ]; then
        say "kept until the next run: $RUN (upper/ holds the changes made over $BASE, or root/ a whole copy)"
    elif findmnt -rn -o TARGET | grep -qF "$RUN/"; then
        say "not deleted: something is mounted under $RUN"
    else
        rm -rf "$RUN" "$RUN.lock"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
# setpriv: if this script is killed, unshare is too, and with it (--kill-child)
# the namespace's first process; the kernel then ends every other one.
status=0
setpriv --pdeathsig KILL unshare --mount --propagation private --pid --kill-child -- \
    "$SELF" --inside "$RUN" "$BASE" "$@" || status=$?
exit "$status"
