#!/usr/bin/env bash
# Builds the luckygas container image from scratch with buildah: no base image is pulled, the root
# filesystem is assembled here from the host (Debian 12): the luckygas binary, the shared libraries
# it links and the dynamic loader (found with ldd), pg_dump and pg_restore of Debian's
# postgresql-client with theirs, CA certificates, time-zone data, /etc/passwd and /etc/group with
# the user luckygas (10001:10001), and the writable mount points /var/lib/luckygas, /tmp, /backup.
# No shell, no package manager. Committed in OCI format as luckygas:<version> and luckygas:latest.
#
#   ops/image/build.sh [--binary PATH] [--archive PATH]
#
#   --binary PATH   the luckygas binary to ship (default ${CARGO_TARGET_DIR:-target}/release/luckygas;
#                   CI passes the dev-profile build, $CARGO_TARGET_DIR/debug/luckygas)
#   --archive PATH  also write the image to PATH as an OCI archive (buildah push oci-archive:PATH)
#
# Needs root (buildah mount, file ownership), buildah, ldd, git, and postgresql-client and
# ca-certificates and tzdata installed on the host. IMAGE_SOURCE overrides the source label (default:
# the git remote `origin`). buildah's storage driver is its default (overlay); set
# STORAGE_DRIVER=vfs where overlay cannot be mounted.
set -euo pipefail

die() {
    echo "build.sh: error: $*" >&2
    exit 1
}
note() { echo "build.sh: $*" >&2; }

usage() { sed -n '9,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
binary="${CARGO_TARGET_DIR:-$repo/target}/release/luckygas"
archive=""
while [ $# -gt 0 ]; do
    case $1 in
    --binary) [ $# -ge 2 ] || die "--binary needs a PATH"; binary=$2; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --archive) [ $# -ge 2 ] || die "--archive needs a PATH"; archive=$2; shift 2 ;;
    --archive=*) archive=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

# --- what the build needs --------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (buildah mount and the files' owners need it); CI runs as root"
if ! command -v buildah >/dev/null 2>&1; then
    die "buildah is not installed; on Debian: apt-get install -y --no-install-recommends buildah"
fi
for tool in ldd git awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[ -f "$binary" ] || die "no luckygas binary at $binary (build it: cargo build --release, or pass --binary PATH)"
[ -x "$binary" ] || die "$binary is not executable"
[ "$(head -c 4 "$binary" | od -An -c | tr -d ' \n')" = "177ELF" ] || die "$binary is not an ELF executable"

PG_BINDIR=${PG_BINDIR:-}
if [ -z "$PG_BINDIR" ]; then
    PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
for tool in pg_dump pg_restore; do
    [ -n "$PG_BINDIR" ] && [ -x "$PG_BINDIR/$tool" ] ||
        die "no $tool under /usr/lib/postgresql/*/bin: apt-get install -y --no-install-recommends postgresql-client-15"
done
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[ -s "$CA_BUNDLE" ] || die "no $CA_BUNDLE: apt-get install -y --no-install-recommends ca-certificates"
ZONEINFO=/usr/share/zoneinfo
for zone in Asia/Taipei UTC; do
    [ -f "$ZONEINFO/$zone" ] || die "no $ZONEINFO/$zone: apt-get install -y --no-install-recommends tzdata"
done

# --- labels ------------------------------------------------------------------------------------------
# The workspace version (planner-api takes `version.workspace = true`).
version=$(awk -F'"' '/^\[/ { section = $0 } section == "[package]" && /^version *= *"/ { print $2; exit }' "$repo/planner-api/Cargo.toml")
if [ -z "$version" ]; then
    version=$(awk -F'"' '/^\[/ { section = $0 } section == "[workspace.package]" && /^version *= *"/ { print $2; exit }' "$repo/Cargo.toml")
fi
[ -n "$version" ] || die "found no version in planner-api/Cargo.toml or the workspace's Cargo.toml"
# The binary must be that version: `luckygas --version` prints `luckygas X.Y.Z`.
if binary_says=$("$binary" --version 2>/dev/null); then
    [ "$binary_says" = "luckygas $version" ] ||
        die "$binary says '$binary_says', the repository is version $version: rebuild the binary"
else
    die "$binary --version failed on this machine"
fi
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null) || die "$repo is not a git checkout: the revision label needs git rev-parse HEAD"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    note "warning: the working tree has uncommitted changes; the revision label names HEAD ($revision)"
fi
source_url=${IMAGE_SOURCE:-$(git -C "$repo" remote get-url origin 2>/dev/null || true)}
# No credentials in a label: drop any user:password@ from the URL.
source_url=$(printf '%s' "$source_url" | sed -E 's#^([a-z+]+://)[^/@]*@#\1#')
if [ -z "$source_url" ]; then
    source_url="file://$repo"
    note "warning: no git remote 'origin' and no IMAGE_SOURCE: the source label is $source_url"
fi
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# --- the root filesystem -------------------------------------------------------------------------------
ctr=""
cleanup() {
    if [ -n "$ctr" ]; then
        buildah umount "$ctr" >/dev/null 2>&1 || true
        buildah rm "$ctr" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

ctr=$(buildah from --name "luckygas-build-$$" scratch) || die "buildah from scratch failed"
root=$(buildah mount "$ctr") || die "buildah mount failed (try STORAGE_DRIVER=vfs)"
[ -d "$root" ] && [ "$root" != / ] || die "buildah mount gave '$root'"

# Directory symlinks on the way to a file (Debian's merged /usr: /lib -> usr/lib, /lib64 ->
# usr/lib64) are recreated as they are, so the paths ldd printed resolve the same in the image.
mirror_dir_links() {
    local dir=$1 acc="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${dir#/}"
    for part in "${parts[@]}"; do
        [ -n "$part" ] || continue
        acc="$acc/$part"
        if [ -L "$acc" ] && [ ! -L "$root$acc" ]; then
            [ ! -e "$root$acc" ] || die "$acc is a link on this machine but a directory in the image"
            ln -s "$(readlink "$acc")" "$root$acc"
        fi
    done
}

# Copies the host file PATH to the same path in the image: the file itself at its real path, and
# the link chain (the name ldd printed -> the versioned file) as links.
copy_path() {
    local path=$1 dir name real
    [ -e "$path" ] || die "$path is missing on this machine"
    dir=$(cd -P "$(dirname "$path")" && pwd)
    name=$(basename "$path")
    real=$(readlink -f "$path")
    mirror_dir_links "$(dirname "$path")"
    mirror_dir_links "$(dirname "$real")"
    if [ ! -e "$root$real" ]; then
        mkdir -p "$root$(dirname "$real")"
        cp --preserve=mode,timestamps "$real" "$root$real"
    fi
    if [ "$dir/$name" != "$real" ] && [ ! -L "$root$dir/$name" ]; then
        mkdir -p "$root$dir"
        if [ "$(dirname "$real")" = "$dir" ]; then
            ln -s "$(basename "$real")" "$root$dir/$name"
        else
            ln -s "$real" "$root$dir/$name"
        fi
    fi
}

# The libraries an executable links, and the dynamic loader, as ldd resolves them here.
copy_libraries() {
    local exe=$1 out libs
    out=$(ldd "$exe" 2>&1) || true
    if grep -q -e 'not a dynamic executable' -e 'statically linked' <<<"$out"; then
        return 0
    fi
    if grep -q 'not found' <<<"$out"; then
        die "$exe links libraries this machine lacks: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
    fi
    libs=$(awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' <<<"$out")
    [ -n "$libs" ] || die "ldd $exe printed nothing usable: $out"
    while IFS= read -r lib; do
        copy_path "$lib"
    done <<<"$libs"
}

# luckygas
install -D -m 0755 "$binary" "$root/usr/local/bin/luckygas"
copy_libraries "$binary"

# pg_dump and pg_restore (`luckygas backup` / `restore` on PostgreSQL run them from PATH), at
# Debian's path, which is on the image's PATH
for tool in pg_dump pg_restore; do
    install -D -m 0755 "$PG_BINDIR/$tool" "$root$PG_BINDIR/$tool"
    copy_libraries "$PG_BINDIR/$tool"
done

# ssh: the bank's statements are fetched over SFTP with OpenSSH's client run as a subprocess
# (planner-api/sftp; LUCKYGAS_BANK_SFTP_*), found on PATH
[ -x /usr/bin/ssh ] || { echo "build.sh: /usr/bin/ssh is missing (apt-get install openssh-client)" >&2; exit 1; }
install -D -m 0755 /usr/bin/ssh "$root/usr/bin/ssh"
copy_libraries /usr/bin/ssh

mkdir -p "$root/etc"
# CA certificates, time zones (the service computes Asia/Taipei itself; localtime is UTC)
install -D -m 0644 "$(readlink -f "$CA_BUNDLE")" "$root$CA_BUNDLE"
mkdir -p "$root/usr/share"
cp -a "$(readlink -f "$ZONEINFO")" "$root/usr/share/zoneinfo"
rm -rf "$root/usr/share/zoneinfo/right" # the leap-second variants (1.9 MB) nothing here reads
ln -s /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
echo UTC >"$root/etc/timezone"

# users, name service, hosts (a runtime mounts its own /etc/hosts and /etc/resolv.conf over these)
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
luckygas:x:10001:10001:luckygas:/var/lib/luckygas:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
luckygas:x:10001:
nogroup:x:65534:
EOF
cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd:    files
group:     files
shadow:    files
hosts:     files dns
networks:  files
protocols: files
services:  files
EOF
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
: >"$root/etc/resolv.conf"
chmod 0644 "$root"/etc/{passwd,group,nsswitch.conf,hosts,resolv.conf,timezone}

# the only writable places (the root filesystem is mounted read-only in production) and the mount
# points a runtime needs
install -d -m 0750 -o 10001 -g 10001 "$root/var/lib/luckygas" "$root/backup"
install -d -m 1777 "$root/tmp"
install -d -m 0755 "$root/proc" "$root/sys" "$root/dev" "$root/run"

# no shell and no package manager got in
for f in bin/sh usr/bin/sh bin/bash usr/bin/bash usr/bin/apt usr/bin/dpkg; do
    [ ! -e "$root/$f" ] && [ ! -L "$root/$f" ] || die "/$f is in the image"
done

# --- the image -------------------------------------------------------------------------------------------
image_path="/usr/local/bin:/usr/bin:$PG_BINDIR"
case "$(uname -m)" in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac
buildah config \
    --os linux --arch "$arch" \
    --user 10001:10001 \
    --workingdir /var/lib/luckygas \
    --entrypoint '["/usr/local/bin/luckygas"]' \
    --cmd '["serve", "--listen", "0.0.0.0:8080"]' \
    --env "PATH=$image_path" \
    --env "DATABASE_URL=sqlite:///var/lib/luckygas/luckygas.db" \
    --port 8080/tcp \
    --stop-signal SIGTERM \
    --created-by "ops/image/build.sh" \
    --label "org.opencontainers.image.title=luckygas" \
    --label "org.opencontainers.image.description=LuckyGas route planner: the planning service (luckygas serve) with pg_dump and pg_restore for backups" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.revision=$revision" \
    --label "org.opencontainers.image.source=$source_url" \
    --label "org.opencontainers.image.created=$created" \
    --label "org.opencontainers.image.licenses=MIT" \
    "$ctr"

image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null; }
old_id=$(image_id "localhost/luckygas:$version" || true)
buildah umount "$ctr" >/dev/null
buildah commit --quiet --format oci --rm "$ctr" "localhost/luckygas:$version" >/dev/null
ctr=""
buildah tag "localhost/luckygas:$version" localhost/luckygas:latest
# The previous build of this version, now without a name, goes.
if [ -n "$old_id" ]; then
    new_id=$(image_id "localhost/luckygas:$version")
    still_named=$(buildah images --noheading --no-trunc --format '{{.ID}} {{.Name}}' |
        awk -v id="sha256:$old_id" '$1 == id && $2 != "<none>"')
    if [ "$old_id" != "$new_id" ] && [ -z "$still_named" ]; then
        buildah rmi "$old_id" >/dev/null 2>&1 || true
    fi
fi

if [ -n "$archive" ]; then
    mkdir -p "$(dirname "$archive")"
    rm -f "$archive"
    buildah push --quiet "localhost/luckygas:$version" "oci-archive:$archive:luckygas:$version" >/dev/null
fi

# --- report --------------------------------------------------------------------------------------------
id=$(image_id "localhost/luckygas:$version")
digest=$(buildah inspect --type image --format '{{.FromImageDigest}}' "localhost/luckygas:$version")
size=$(buildah images --noheading --format '{{.Size}}' "localhost/luckygas:$version" | awk 'NR == 1')
# the layer's bytes, from the manifest's "layers" (the image has one layer)
layer_bytes=$(buildah inspect --type image --format '{{.Manifest}}' "localhost/luckygas:$version" |
    sed -e 's/.*"layers":\[//' -e 's/\].*//' | grep -o '"size":[0-9]*' | awk -F: '{ n += $2 } END { print n + 0 }')
echo "image:    localhost/luckygas:$version, localhost/luckygas:latest (OCI)"
echo "id:       $id"
echo "digest:   $digest"
echo "size:     $size ($layer_bytes bytes in its layer, uncompressed)"
echo "binary:   $binary ($(du -h "$binary" | cut -f1))"
echo "revision: $revision"
if [ -n "$archive" ]; then
    echo "archive:  $archive ($(du -h "$archive" | cut -f1))"
fi
