#!/usr/bin/env bash
# Times the README's commands on a bare Debian 12: a debootstrap minbase
# chroot (root, and Debian's mirror reachable, are needed), the given git
# revision copied in, then `scripts/install-deps.sh`, `scripts/run.sh`
# (build + main job) and, with --test, `scripts/test.sh`, each timed alone.
#   usage: scripts/bare_machine_time.sh [--test] REVISION [DIR]   (DIR: /tmp/bitbench-bare-REVISION)
# Issue #32's install figures (518 packages before the OpenCV change, 239
# after) and run.sh's time came from this procedure. Run it on a quiet
# machine: builds share the cores with anything else running.
set -euo pipefail
with_test=0
[ "${1:-}" = "--test" ] && { with_test=1; shift; }
rev="${1:?usage: scripts/bare_machine_time.sh [--test] REVISION [DIR]}"
dir="${2:-/tmp/bitbench-bare-$rev}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
[ -d "$dir" ] || debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian
cp /etc/resolv.conf "$dir/etc/"
mkdir -p "$dir/root/bitbench"
git -C "$repo" archive "$rev" | tar -x -C "$dir/root/bitbench"
# The model tests read ../shared/reference, as CI's clone has it beside it.
[ -d "$repo/../shared" ] && cp -r "$repo/../shared" "$dir/root/"
for m in proc sys dev dev/pts; do mountpoint -q "$dir/$m" || mount --bind "/$m" "$dir/$m"; done
# A machine's /dev/shm is a world-writable tmpfs (a bind of /dev does not carry
# it): LLVM's OpenMP runtime registers itself there, also when a test runs
# bitbench as another user (the hostile corpus's unreadable files, as root).
mountpoint -q "$dir/dev/shm" || mount -t tmpfs -o mode=1777 tmpfs "$dir/dev/shm"
trap 'for m in dev/shm dev/pts dev sys proc; do umount "$dir/$m" 2>/dev/null || true; done' EXIT
step() {  # step NAME COMMAND: runs it in the chroot, prints its exit code and wall time
  local name="$1"; shift
  local s; s=$(date +%s%N)
  chroot "$dir" /bin/bash -c "cd /root/bitbench && $*" > "$dir/root/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc, $(( ($(date +%s%N) - s) / 1000000 )) ms (log: $dir/root/$name.log)"
}
set +e
step install "bash scripts/install-deps.sh"
echo "packages installed: $(chroot "$dir" dpkg -l | grep -c '^ii')"
step run "bash scripts/run.sh --no-table"
[ "$with_test" = 1 ] && step test "bash scripts/test.sh"
exit 0
