#!/usr/bin/env bash
# image-test.sh — CI: builds deploy/Dockerfile and runs the image without a Docker engine (podman
# with runc), on Debian base images made here with debootstrap and tagged with the names the
# Dockerfile's FROM lines use; then checks the running container: health, readiness, the UI,
# a translation, an attention map, the HEALTHCHECK, and that it runs as a non-root user.
#
# Usage: .ci/image-test.sh        (Debian 12; as root or with sudo; installs what it needs)
# env:   IMAGE=localhost/attnserve:ci   the tag to build
#        MIRROR=http://deb.debian.org/debian   where debootstrap and apt fetch packages
#        REBUILD_BASE=1   re-create the debootstrap base images even if present
#        KEEP=1           leave the container running (and print how to reach it)
#        TEXT=...         the sentence to translate
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/attnserve:ci}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
TEXT=${TEXT:-A man in a blue shirt is standing on a ladder.}
NAME=attnserve-ci-$$
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
podman() { $sudo "$(type -P podman)" --runtime runc "$@"; }
log() { printf '\n== %s\n' "$*" >&2; }

tools/install-deps.sh image

# --- base images --------------------------------------------------------------------------------
# debian:bookworm      minbase debootstrap with apt sources for main, updates and security;
# debian:bookworm-slim the same without documentation, man pages and locales, and with dpkg told
#                      to skip them in later installs (as the official slim image does).
make_base() {
    if [ -z "${REBUILD_BASE:-}" ] && podman image exists docker.io/library/debian:bookworm \
        && podman image exists docker.io/library/debian:bookworm-slim; then
        log "base images present (REBUILD_BASE=1 re-creates them)"
        return
    fi
    local root
    root=$(mktemp -d /var/tmp/attnserve-rootfs.XXXXXX)
    log "debootstrap --variant=minbase bookworm into $root"
    $sudo debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null
    $sudo tee "$root/etc/apt/sources.list" >/dev/null <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
    $sudo chroot "$root" apt-get clean
    $sudo rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
    log "importing debian:bookworm"
    $sudo tar --numeric-owner -C "$root" -c . \
        | podman import --change 'CMD ["bash"]' - docker.io/library/debian:bookworm >/dev/null

    $sudo tee "$root/etc/dpkg/dpkg.cfg.d/slim" >/dev/null <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
    $sudo find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    $sudo rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
    $sudo find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias \
        -exec rm -rf {} +
    log "importing debian:bookworm-slim"
    $sudo tar --numeric-owner -C "$root" -c . \
        | podman import --change 'CMD ["bash"]' - docker.io/library/debian:bookworm-slim >/dev/null
    $sudo rm -rf "$root"
}
make_base

# --- build --------------------------------------------------------------------------------------
log "podman build -f deploy/Dockerfile -t $IMAGE"
# --format docker keeps HEALTHCHECK (the OCI format has no such field); --network host: the build
# stage's apt-get needs the network and this needs no CNI setup.
podman build --pull=never --network host --format docker -f deploy/Dockerfile -t "$IMAGE" .
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
log "image $IMAGE: $((size / 1024 / 1024)) MiB"

# --- run ----------------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    if [ -n "${KEEP:-}" ]; then
        log "KEEP=1: container $NAME stays up on http://127.0.0.1:$port (podman rm -f $NAME)"
    else
        podman rm -f "$NAME" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
log "podman run $IMAGE on 127.0.0.1:$port"
podman run -d --name "$NAME" --network host \
    --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
    -e ATTNSERVE_HOST=127.0.0.1 -e ATTNSERVE_PORT="$port" "$IMAGE" >/dev/null
base=http://127.0.0.1:$port

fail() {
    echo "image-test: FAIL: $*" >&2
    podman logs --tail 60 "$NAME" >&2 || true
    exit 1
}
for i in $(seq 1 180); do
    if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then break; fi
    [ "$(podman inspect --format '{{.State.Running}}' "$NAME")" = true ] || fail "the container exited"
    [ "$i" -lt 180 ] || fail "not ready after 180 s"
    sleep 1
done
log "ready after ~${i} s"

curl -fsS "$base/healthz" >/dev/null || fail "/healthz"
curl -fsS "$base/" | grep -q '<title>attnserve' || fail "GET / does not serve the UI"
curl -fsS "$base/models" >/dev/null || fail "/models"

answer=$(curl -sS -X POST "$base/translate" -H 'Content-Type: application/json' \
    -d "$(python3 -c 'import json,sys; print(json.dumps({"text": sys.argv[1]}))' "$TEXT")") \
    || fail "POST /translate"
echo "POST /translate -> $answer" >&2
python3 - "$answer" <<'EOF' || fail "bad translation answer"
import json, sys
a = json.loads(sys.argv[1])
t = a["translations"][0]["text"]
assert isinstance(t, str) and t.strip(), "empty translation"
assert a["usage"]["output_tokens"] > 0
print("translation:", t)
EOF

att=$(curl -sS -X POST "$base/attention" -H 'Content-Type: application/json' \
    -d '{"task":"translate","text":"A dog runs.","kinds":["cross"],"heads":"mean"}') \
    || fail "POST /attention"
id=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print(a["id"])' "$att") \
    || fail "POST /attention answered $att"
curl -fsS "$base/attention/$id?kind=cross&layer=0&head=mean&format=json" >/dev/null \
    || fail "GET /attention/$id"

uid=$(podman exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the server runs as root"
podman exec "$NAME" /usr/local/bin/attnserve-healthcheck || fail "the HEALTHCHECK command fails"
hc=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" 2>/dev/null || true)
case "$hc" in *attnserve-healthcheck*) ;; *) fail "the image has no HEALTHCHECK ($hc)" ;; esac

log "image-test: OK ($IMAGE, $((size / 1024 / 1024)) MiB, uid $uid)"
