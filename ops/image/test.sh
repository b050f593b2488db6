#!/usr/bin/env bash
# Builds the image (build.sh) and checks it. Containers cannot run in this sandbox (podman run fails
# on cgroups), so the image's root filesystem is mounted (buildah from + mount) and its binaries run
# with chroot as 10001:10001 in a mount namespace of their own, where that root is read-only and
# only fresh directories on /var/lib/luckygas, /tmp and /backup are writable, as the orchestrator
# runs it (Kubernetes readOnlyRootFilesystem with those volumes). The environment is the image's
# Env plus a random LUCKYGAS_JWT_SECRET and HOME. Checks:
#   - the config: user 10001:10001, entrypoint, cmd, workdir, DATABASE_URL, port, OCI manifest,
#     labels version (= the workspace version) and revision (= git HEAD), source, created
#   - the contents: no shell, no package manager; CA bundle, zoneinfo, passwd, mount points
#   - luckygas --version prints the label's version; pg_dump and pg_restore run from PATH
#   - luckygas serve on SQLite (the image's DATABASE_URL) answers GET /readyz with 200 within 60 s,
#     runs as uid/gid 10001 with no other group, creates its database in /var/lib/luckygas, and
#     exits 0 on SIGTERM; then luckygas backup writes a copy into /backup
#
#   ops/image/test.sh [--binary PATH] [--archive PATH]     (arguments go to build.sh)
#
# Needs root (buildah, mount namespaces, chroot), buildah, unshare, chroot, curl, git.
set -euo pipefail

die() {
    echo "test.sh: FAIL: $*" >&2
    exit 1
}
ok() { echo "test.sh: ok: $*"; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

[ "$(id -u)" -eq 0 ] || die "must run as root (buildah mount, mount namespaces, chroot)"
command -v buildah >/dev/null 2>&1 ||
    die "buildah is not installed; on Debian: apt-get install -y --no-install-recommends buildah"
for tool in unshare chroot curl mount git; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
CHROOT=$(command -v chroot)

# --- build -----------------------------------------------------------------------------------------
echo "test.sh: building the image"
bash "$here/build.sh" "$@" || die "build.sh failed"
image=localhost/luckygas:latest

# --- configuration and labels ---------------------------------------------------------------------
inspect() { buildah inspect --type image --format "$1" "$image"; }
label() { inspect "{{index .OCIv1.Config.Labels \"$1\"}}"; }
expect() { # what, got, wanted
    [ "$2" = "$3" ] || die "$1 is '$2', wanted '$3'"
    ok "$1 = $2"
}

expect "user" "$(inspect '{{.OCIv1.Config.User}}')" "10001:10001"
# each argument in <>
expect "entrypoint" "$(inspect '{{range .OCIv1.Config.Entrypoint}}<{{.}}>{{end}}')" '</usr/local/bin/luckygas>'
expect "cmd" "$(inspect '{{range .OCIv1.Config.Cmd}}<{{.}}>{{end}}')" '<serve><--listen><0.0.0.0:8080>'
expect "workdir" "$(inspect '{{.OCIv1.Config.WorkingDir}}')" "/var/lib/luckygas"
expect "exposed ports" "$(inspect '{{range $p, $_ := .OCIv1.Config.ExposedPorts}}{{$p}} {{end}}')" "8080/tcp "
mapfile -t image_env < <(inspect '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
expect "DATABASE_URL" "$(printf '%s\n' "${image_env[@]}" | sed -n 's/^DATABASE_URL=//p')" \
    "sqlite:///var/lib/luckygas/luckygas.db"
grep -q '"mediaType":"application/vnd.oci.image.manifest.v1+json"' <<<"$(inspect '{{.Manifest}}')" ||
    die "the manifest is not an OCI manifest: $(inspect '{{.Manifest}}' | head -c 200)"
ok "OCI manifest"

version=$(awk -F'"' '/^\[/ { s = $0 } s == "[workspace.package]" && /^version *= *"/ { print $2; exit }' "$repo/Cargo.toml")
[ -n "$version" ] || die "found no workspace version in Cargo.toml"
expect "label org.opencontainers.image.version" "$(label org.opencontainers.image.version)" "$version"
expect "label org.opencontainers.image.revision" "$(label org.opencontainers.image.revision)" "$(git -C "$repo" rev-parse HEAD)"
for l in source created title description; do
    [ -n "$(label "org.opencontainers.image.$l")" ] || die "label org.opencontainers.image.$l is empty"
done
ok "labels source, created, title, description are set"

# --- the image's files ----------------------------------------------------------------------------
ctr=""
rt=""
server=""
cleanup() {
    local rc=$?
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -KILL "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [ -n "$ctr" ]; then
        buildah umount "$ctr" >/dev/null 2>&1 || true
        buildah rm "$ctr" >/dev/null 2>&1 || true
    fi
    # the bind mounts lived in the namespaces of processes that have ended
    [ -z "$rt" ] || rm -rf "$rt"
    [ "$rc" -eq 0 ] || echo "test.sh: failed (exit status $rc)" >&2
}
trap cleanup EXIT

ctr=$(buildah from --name "luckygas-test-$$" "$image") || die "buildah from $image failed"
mnt=$(buildah mount "$ctr") || die "buildah mount failed"

for f in bin/sh usr/bin/sh bin/bash usr/bin/bash bin/busybox usr/bin/apt usr/bin/apt-get usr/bin/dpkg; do
    [ ! -e "$mnt/$f" ] && [ ! -L "$mnt/$f" ] || die "/$f is in the image"
done
ok "no shell, no package manager"
for f in usr/local/bin/luckygas etc/ssl/certs/ca-certificates.crt usr/share/zoneinfo/Asia/Taipei \
    usr/share/zoneinfo/UTC etc/localtime etc/nsswitch.conf; do
    [ -e "$mnt/$f" ] || die "/$f is missing from the image"
done
grep -qx 'luckygas:x:10001:10001:luckygas:/var/lib/luckygas:/sbin/nologin' "$mnt/etc/passwd" ||
    die "/etc/passwd has no user luckygas 10001:10001"
grep -qx 'luckygas:x:10001:' "$mnt/etc/group" || die "/etc/group has no group luckygas 10001"
for d in var/lib/luckygas backup; do
    expect "owner of /$d" "$(stat -c %u:%g "$mnt/$d")" "10001:10001"
done
expect "mode of /tmp" "$(stat -c %a "$mnt/tmp")" "1777"
echo "test.sh: image root filesystem: $(du -sh "$mnt" | cut -f1)"

# --- running its binaries ---------------------------------------------------------------------------
# Fresh writable directories for the three volumes, owned as a runtime would give them.
rt=$(mktemp -d /tmp/luckygas-image-test.XXXXXX)
mkdir -p "$rt/root" "$rt/rw/var/lib/luckygas" "$rt/rw/tmp" "$rt/rw/backup"
chown 10001:10001 "$rt/rw/var/lib/luckygas" "$rt/rw/backup"
chmod 1777 "$rt/rw/tmp"
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "${image_env[@]}" "HOME=/var/lib/luckygas" "LUCKYGAS_JWT_SECRET=$secret" >"$rt/env"

# Replaces the calling (sub)shell with COMMAND run in the image: own mount namespace, the image's
# root bound read-only with the three volumes and /dev (null, zero, random, urandom) on it, chroot as 10001:10001 (no other group), the
# environment in $rt/env only. The process keeps this shell's PID, so `in_image … &` gives $! =
# the command's PID. Call it in a subshell or command substitution, or in the background.
in_image() {
    exec unshare --mount --propagation private -- bash -euc '
        mnt=$1 rt=$2 chroot=$3
        shift 3
        mount --bind "$mnt" "$rt/root"
        mount -o remount,bind,ro "$rt/root"
        for d in var/lib/luckygas tmp backup; do
            mount --bind "$rt/rw/$d" "$rt/root/$d"
        done
        # /dev as a container runtime gives it: a tmpfs with the basic character devices.
        mount -t tmpfs -o mode=0755,nosuid tmpfs "$rt/root/dev"
        for n in null zero random urandom; do
            : >"$rt/root/dev/$n"
            mount --bind "/dev/$n" "$rt/root/dev/$n"
        done
        if touch "$rt/root/.write-probe" 2>/dev/null; then
            echo "the image root is writable in the test namespace" >&2
            exit 97
        fi
        mapfile -t env_vars <"$rt/env"
        exec env -i "${env_vars[@]}" "$chroot" --userspec=10001:10001 --groups=10001 "$rt/root" "$@"
    ' in_image "$mnt" "$rt" "$CHROOT" "$@"
}

# (1) the version
said=$(in_image /usr/local/bin/luckygas --version 2>&1) || die "luckygas --version failed in the image: $said"
expect "luckygas --version in the image" "$said" "luckygas $(label org.opencontainers.image.version)"
# pg_dump and pg_restore, found on the image's PATH, with their libraries
for tool in pg_dump pg_restore; do
    said=$(in_image "$tool" --version 2>&1) || die "$tool --version failed in the image: $said"
    ok "$tool on PATH: $said"
done
# ssh (the SFTP client of the bank fetch), found on PATH, with its libraries
said=$(in_image ssh -V 2>&1) || die "ssh -V failed in the image: $said"
ok "ssh on PATH: $said"

# (2) serve on SQLite, ready, SIGTERM
port=""
for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        port=$p
        break
    fi
done
[ -n "$port" ] || die "found no free port"
log="$rt/serve.log"
in_image /usr/local/bin/luckygas serve --listen "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
show_log() { echo "--- luckygas serve's output (last 40 lines):" >&2; tail -n 40 "$log" >&2 || true; }

started=$SECONDS
code=""
while [ $((SECONDS - started)) -lt 60 ]; do
    if ! kill -0 "$server" 2>/dev/null; then
        wait "$server" && rc=0 || rc=$?
        server=""
        show_log
        die "luckygas serve exited (status $rc) before it was ready"
    fi
    code=$(curl -s -o "$rt/readyz.json" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
done
if [ "$code" != 200 ]; then
    show_log
    die "GET /readyz answered '${code:-nothing}' after 60 s, not 200"
fi
ok "GET /readyz = 200 after $((SECONDS - started)) s: $(cat "$rt/readyz.json")"

expect "the server's command name" "$(cat "/proc/$server/comm")" "luckygas"
expect "the server's uids" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$server/status")" "10001 10001 10001 10001"
expect "the server's gids" "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$server/status")" "10001 10001 10001 10001"
expect "the server's groups" "$(awk '/^Groups:/ { $1 = ""; print substr($0, 2) }' "/proc/$server/status" | sed 's/ *$//')" "10001"
[ -f "$rt/rw/var/lib/luckygas/luckygas.db" ] || die "no luckygas.db in /var/lib/luckygas: $(ls -la "$rt/rw/var/lib/luckygas")"
expect "owner of /var/lib/luckygas/luckygas.db" "$(stat -c %u:%g "$rt/rw/var/lib/luckygas/luckygas.db")" "10001:10001"

kill -TERM "$server"
stopped=$SECONDS
while kill -0 "$server" 2>/dev/null && [ $((SECONDS - stopped)) -lt 45 ]; do
    sleep 0.2
done
if kill -0 "$server" 2>/dev/null; then
    show_log
    die "luckygas serve still runs 45 s after SIGTERM"
fi
wait "$server" && rc=0 || rc=$?
server=""
if [ "$rc" -ne 0 ]; then
    show_log
    die "luckygas serve exited with status $rc after SIGTERM, not 0"
fi
ok "SIGTERM: exited 0 after $((SECONDS - stopped)) s"

# a backup into the /backup volume, as the backup job runs it
said=$(in_image /usr/local/bin/luckygas backup --to /backup/check.db 2>&1) ||
    die "luckygas backup --to /backup/check.db failed in the image: $said"
[ -s "$rt/rw/backup/check.db" ] || die "luckygas backup wrote no /backup/check.db"
ok "luckygas backup wrote /backup/check.db ($(stat -c %s "$rt/rw/backup/check.db") bytes)"

echo "test.sh: PASS: image $image ($(label org.opencontainers.image.version), $(label org.opencontainers.image.revision))"
