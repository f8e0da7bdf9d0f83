#!/usr/bin/env bash
# image-test.sh — CI: builds deploy/Dockerfile and runs the image without a Docker engine (podman
# with runc), on Debian base images made here with debootstrap and tagged with the names the
# Dockerfile's FROM lines use; then checks the running container: readiness, health, the models,
# the UI, a translation, a summary, an attention map, the HEALTHCHECK, that it runs as a non-root
# user on a read-only root filesystem, and that SIGTERM stops it cleanly.
#
# Usage: .ci/image-test.sh   (or make test-image; Debian 12, as root or with sudo; installs what
#                             it needs with tools/install-deps.sh image)
# env:   IMAGE=localhost/attnserve:ci  the tag to build
#        MIRROR=URL           Debian mirror for bookworm and bookworm-updates (default: the one
#                             this machine's apt uses, else http://deb.debian.org/debian)
#        SECURITY_MIRROR=URL  the same for bookworm-security ("none" to leave it out)
#        CACHE_DIR=.cache/image-test  where the debootstrap root filesystems are kept as tarballs
#        REBUILD_BASE=1       debootstrap again even when a cached base is there
#        NETWORK=bridge|host  bridge (default): publish the image's port 8080 on a free local port;
#                             host: share the host's network and move the server to a free port
#        JOBS=N               compile jobs in the build stage (default: every CPU)
#        READY_TIMEOUT=180    seconds to wait for /readyz
#        KEEP=1               leave the container running (and print how to reach it)
#        TEXT=...             the sentence to translate
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/attnserve:ci}
CACHE_DIR=${CACHE_DIR:-.cache/image-test}
NETWORK=${NETWORK:-bridge}
READY_TIMEOUT=${READY_TIMEOUT:-180}
TEXT=${TEXT:-A man is riding a bike.}
NAME=attnserve-ci-$$
# The base images the Dockerfile may start from, under the names Docker would resolve them to.
BASE_FULL=docker.io/library/debian:bookworm
BASE_SLIM=docker.io/library/debian:bookworm-slim
# Bump when the recipe below changes, so cached bases are made again.
BASE_RECIPE=2

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
t0=$SECONDS
log() { printf '\n== [%4ss] %s\n' "$((SECONDS - t0))" "$*" >&2; }
die() { printf '\nimage-test: FAIL: %s\n' "$*" >&2; exit 1; }

tools/install-deps.sh image
podman_bin=$(type -P podman) || die "podman is not installed (tools/install-deps.sh image)"
# Without systemd, podman reports at error level that it cannot set up the HEALTHCHECK timer;
# harmless here (the check is run explicitly below), so those lines are dropped.
podman() {
    $sudo "$podman_bin" --runtime runc "$@" 2> >(grep -v 'unable to get systemd connection' >&2)
}

work=$(mktemp -d /tmp/attnserve-image-test.XXXXXX)
rootfs=""
container=""
cleanup() {
    local rc=$?
    if [ -n "$container" ]; then
        if [ -n "${KEEP:-}" ] && [ "$rc" -eq 0 ]; then
            log "KEEP=1: container $NAME stays up on $base (podman rm -f $NAME)"
        else
            podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
        fi
    fi
    [ -z "$rootfs" ] || $sudo rm -rf "$rootfs"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- preconditions ------------------------------------------------------------------------------
# The Dockerfile must start only from the two base images made here (there is no registry).
while read -r from; do
    case "$from" in
        debian:bookworm | debian:bookworm-slim | "$BASE_FULL" | "$BASE_SLIM") ;;
        *) die "deploy/Dockerfile starts FROM $from; this script can only make debian:bookworm and debian:bookworm-slim" ;;
    esac
done < <(awk 'toupper($1) == "FROM" {  # the image of each FROM that is not an earlier stage
                  for (i = 2; i <= NF; i++) if ($i !~ /^--/) { img = $i; break }
                  if (!(img in stage)) print img
                  if (toupper($(NF - 1)) == "AS") stage[$NF] = 1 }' deploy/Dockerfile)

# The image carries the default models: every model folder config/attnserve.json names must exist.
python3 - config/attnserve.json <<'EOF' || die "the default models are missing (see above); the image would not start"
import json, os, sys
cfg = sys.argv[1]
missing = [m["path"] for m in json.load(open(cfg))["models"]
           if not os.path.isfile(os.path.join(os.path.dirname(cfg), m["path"], "config.json"))]
for p in missing:
    print(f"image-test: {cfg} serves {p}, which has no config.json", file=sys.stderr)
sys.exit(1 if missing else 0)
EOF

# --- base images --------------------------------------------------------------------------------
# debian:bookworm       debootstrap --variant=minbase, apt pointed at the mirror this machine uses
#                       (nothing else may be reachable), with its validity settings and proxies;
# debian:bookworm-slim  the same without documentation, manuals and locales, and with dpkg told to
#                       skip them in later installs (as the official slim image does).
# The root filesystems are kept in $CACHE_DIR as tarballs named after a key of the recipe and the
# apt sources, so a rerun (or a machine whose podman storage was wiped) imports them in seconds.
apt_uri() {  # SUITE -> the URI this machine's apt fetches SUITE from (empty when none)
    # shellcheck disable=SC2016 # apt's own $(FIELD) syntax
    apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' 2>/dev/null \
        | awk -v s="$1" '$2 == s { sub(/\/$/, "", $1); print $1; exit }'
}
MIRROR=${MIRROR:-$(apt_uri bookworm)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(apt_uri bookworm-security)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
{
    echo "deb $MIRROR bookworm main"
    echo "deb $MIRROR bookworm-updates main"
    [ "$SECURITY_MIRROR" = none ] || echo "deb $SECURITY_MIRROR bookworm-security main"
} >"$work/sources.list"
# A snapshot mirror serves Release files whose Valid-Until has passed: take the host's answer.
apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
    >"$work/apt.conf" || true
key=$( { echo "recipe $BASE_RECIPE $(dpkg --print-architecture)"; cat "$work/sources.list" "$work/apt.conf"; } \
       | sha256sum | cut -c1-12)
full_tar=$CACHE_DIR/debian-bookworm-$key.tar
slim_tar=$CACHE_DIR/debian-bookworm-slim-$key.tar

make_rootfs() {  # debootstrap into a fresh folder and write both tarballs
    rootfs=$(mktemp -d /var/tmp/attnserve-rootfs.XXXXXX)
    local include=()
    case "$MIRROR $SECURITY_MIRROR" in *https:*) include=(--include=ca-certificates) ;; esac
    log "debootstrap --variant=minbase bookworm from $MIRROR (a few minutes)"
    if ! $sudo debootstrap --variant=minbase "${include[@]}" bookworm "$rootfs" "$MIRROR" \
            >"$work/debootstrap.log" 2>&1; then
        tail -n 30 "$work/debootstrap.log" "$rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
        die "debootstrap from $MIRROR failed (MIRROR= picks another mirror)"
    fi
    $sudo cp "$work/sources.list" "$rootfs/etc/apt/sources.list"
    $sudo cp "$work/apt.conf" "$rootfs/etc/apt/apt.conf.d/90attnserve-ci"
    $sudo chroot "$rootfs" apt-get clean
    $sudo rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs/etc/resolv.conf"
    : | $sudo tee "$rootfs/etc/hostname" >/dev/null
    mkdir -p "$CACHE_DIR"
    $sudo tar --numeric-owner -C "$rootfs" -cf "$full_tar.part" . && mv "$full_tar.part" "$full_tar"

    $sudo tee "$rootfs/etc/dpkg/dpkg.cfg.d/slim" >/dev/null <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
    $sudo find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    $sudo rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/lintian/*
    $sudo find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias \
        -exec rm -rf {} +
    $sudo tar --numeric-owner -C "$rootfs" -cf "$slim_tar.part" . && mv "$slim_tar.part" "$slim_tar"
    $sudo rm -rf "$rootfs"
    rootfs=""
    # Older keys' tarballs are of no further use.
    find "$CACHE_DIR" -maxdepth 1 -name 'debian-bookworm*.tar' -not -name "*-$key.tar" -delete
}

import_base() {  # NAME TARBALL: import unless NAME is already the image imported from TARBALL
    local name=$1 tar=$2 stamp=$CACHE_DIR/${2##*/}.imported id
    id=$(podman image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
    if [ -n "$id" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$id" ]; then
        log "base $name present (from $(basename "$tar"))"
        return
    fi
    log "podman import $tar as $name"
    id=$(podman import --change 'CMD ["bash"]' "$tar" "$name") || die "podman import $tar failed"
    podman image inspect --format '{{.Id}}' "$name" >"$stamp"
}

if [ -n "${REBUILD_BASE:-}" ] || [ ! -f "$full_tar" ] || [ ! -f "$slim_tar" ]; then
    make_rootfs
    rm -f "$CACHE_DIR"/*.imported
else
    log "cached base root filesystems $full_tar, $slim_tar (REBUILD_BASE=1 makes them again)"
fi
import_base "$BASE_FULL" "$full_tar"
import_base "$BASE_SLIM" "$slim_tar"

# --- build --------------------------------------------------------------------------------------
# --pull=never: the bases exist only here. --format docker keeps HEALTHCHECK (the OCI image config
# has no such field). --network host: the build stage's apt-get reaches the mirror without CNI.
log "podman build -f deploy/Dockerfile -t $IMAGE"
old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
podman build --pull=never --network host --format docker ${JOBS:+--build-arg JOBS="$JOBS"} \
    -f deploy/Dockerfile -t "$IMAGE" . || die "podman build failed (output above)"
new_id=$(podman image inspect --format '{{.Id}}' "$IMAGE")
# The previous build of this tag, now untagged, would pile up on a reused machine.
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    podman rmi "$old_id" >/dev/null 2>&1 || true
fi
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
slim_size=$(podman image inspect --format '{{.Size}}' "$BASE_SLIM")
log "image $IMAGE: $((size / 1000000)) MB ($((slim_size / 1000000)) MB of it the bookworm-slim base)"

# The image's metadata: non-root user, HEALTHCHECK, port.
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
case "${user%%:*}" in "" | 0 | root) die "the image's USER is '${user}': it would run as root" ;; esac
hc=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" 2>/dev/null || true)
case "$hc" in *healthcheck*) ;; *) die "the image has no HEALTHCHECK (got: ${hc:-nothing})" ;; esac
ports=$(podman image inspect --format '{{json .Config.ExposedPorts}}' "$IMAGE")
case "$ports" in *'"8080/tcp"'*) ;; *) die "the image does not expose 8080 (got: $ports)" ;; esac
echo "USER $user; HEALTHCHECK $hc; EXPOSE $ports" >&2

# --- run ----------------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
case "$NETWORK" in
    bridge) net=(-p "127.0.0.1:$port:8080") ;;  # the image's own port and listen address
    host) net=(--network host -e ATTNSERVE_HOST=127.0.0.1 -e ATTNSERVE_PORT="$port") ;;
    *) die "NETWORK must be bridge or host, not $NETWORK" ;;
esac
log "podman run $IMAGE on $base (NETWORK=$NETWORK; read-only root, no capabilities)"
# The ulimits: runc's defaults here are lower than what podman asks for by default.
container=$(podman run -d --name "$NAME" "${net[@]}" \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 "$IMAGE") \
    || die "podman run failed (with NETWORK=bridge, try NETWORK=host)"

fail() {
    echo >&2
    echo "---- last lines of the container's log:" >&2
    podman logs --tail 40 "$NAME" >&2 2>&1 || true
    die "$*"
}
# GET/POST PATH [BODY]: the answer's body in $work/body, its HTTP status in $code.
request() {
    local method=$1 path=$2 body=${3:-}
    local args=(-sS -o "$work/body" -w '%{http_code}' --max-time 60 -X "$method")
    [ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
    code=$(curl "${args[@]}" "$base$path") || code="no answer"
}
expect() {  # METHOD PATH BODY CODE: request and require the status
    request "$1" "$2" "${3:-}"
    [ "$code" = "$4" ] || fail "$1 $2 answered $code, expected $4: $(head -c 400 "$work/body" 2>/dev/null)"
}

log "waiting for /readyz (up to $READY_TIMEOUT s)"
for ((i = 1; ; i++)); do
    request GET /readyz 2>/dev/null  # refused until the server listens
    [ "$code" = 200 ] && break
    [ "$(podman inspect --format '{{.State.Running}}' "$NAME")" = true ] \
        || fail "the container exited with status $(podman inspect --format '{{.State.ExitCode}}' "$NAME") before it was ready"
    [ "$i" -lt "$READY_TIMEOUT" ] || fail "/readyz still answers $code after $READY_TIMEOUT s"
    sleep 1
done
log "ready after ~$i s: $(cat "$work/body")"

check_json() {  # PYTHON-EXPRESSION-ON-a MESSAGE: check the last answer's JSON
    python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
        "$work/body" "$1" 2>/dev/null || fail "$2: $(head -c 600 "$work/body")"
}

expect GET /healthz "" 200
check_json 'a.get("status") == "ok"' "/healthz"

expect GET /models "" 200
check_json '{(m["name"], m["task"]) for m in a["models"] if m.get("loaded")} >= {("en-de", "translate"), ("headlines", "summarize")}' \
    "/models does not list en-de (translate) and headlines (summarize) as loaded"

# The four languages in every direction (LibreTranslate's /languages), and one of the 12 through
# the multilingual model.
expect GET /languages "" 200
check_json '{l["code"]: sorted(l["targets"]) for l in a} == {c: sorted(set("en de fr cs".split()) - {c}) for c in "en de fr cs".split()}' \
    "/languages does not list en, de, fr, cs with the three others as targets"
expect POST /translate '{"q":"Un chien noir court dans l'"'"'herbe.","source":"fr","target":"cs"}' 200
check_json 'a["translatedText"].strip() != ""' "POST /translate fr -> cs gave no translation"

expect GET / "" 200
grep -q '<title>attnserve' "$work/body" || fail "GET / does not serve the web UI"

translate_req=$(python3 -c 'import json, sys; print(json.dumps({"text": sys.argv[1]}))' "$TEXT")
log "POST /translate $translate_req"
expect POST /translate "$translate_req" 200
cat "$work/body" >&2; echo >&2
check_json 'isinstance(a["translations"][0]["text"], str) and a["translations"][0]["text"].strip() and a["usage"]["output_tokens"] > 0' \
    "POST /translate gave no translation"
translation=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["translations"][0]["text"])' "$work/body")

expect POST /summarize '{"text":"The city council approved a new budget on Monday that raises spending on schools and roads."}' 200
check_json 'a["summaries"][0]["text"].strip() != ""' "POST /summarize gave no summary"

expect POST /attention '{"task":"translate","text":"A dog runs.","kinds":["cross"],"heads":"mean"}' 200
id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$work/body") \
    || fail "POST /attention answered without an id: $(head -c 400 "$work/body")"
expect GET "/attention/$id?kind=cross&layer=0&head=mean&format=json" "" 200

# The server (PID 1 in the container) runs as a non-root user: real, effective, saved, fs uids.
uids=$(podman exec "$NAME" sh -c 'grep ^Uid: /proc/1/status' | cut -f2-) || fail "podman exec failed"
for u in $uids; do [ "$u" != 0 ] || fail "the server runs as root (Uid: $uids)"; done
# ... whose user and group have names (a numeric USER whose gid has no group would show none).
ids=$(podman exec "$NAME" sh -c 'echo "$(id -un):$(id -gn)"') || fail "podman exec id failed"
[ "$ids" = attnserve:attnserve ] || fail "the container runs as $ids, expected attnserve:attnserve"
# The image's HEALTHCHECK, run the way the engine runs it.
if ! hc_out=$(podman healthcheck run "$NAME" 2>&1); then
    fail "the HEALTHCHECK fails: $hc_out"
fi

# Configuration by a mounted file and environment variables: the Kubernetes ConfigMap's file,
# mounted where deployment.yaml mounts it, with variables on top, validated by attnserve --check.
python3 - deploy/k8s/configmap.yaml >"$work/attnserve.json" <<'EOF' \
    || die "no valid attnserve.json in deploy/k8s/configmap.yaml"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
start = next(i for i, l in enumerate(lines) if l.strip() == "attnserve.json: |") + 1
body = []
for l in lines[start:]:
    if l.strip() and not l.startswith("    "):
        break
    body.append(l[4:])
print(json.dumps(json.loads("\n".join(body))))
EOF
chmod 644 "$work/attnserve.json"
log "attnserve --check with deploy/k8s/configmap.yaml mounted and ATTNSERVE_WORKERS=2"
if ! check_out=$(podman run --rm --read-only --cap-drop ALL \
        --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
        -v "$work/attnserve.json:/etc/attnserve/attnserve.json:ro" \
        -e ATTNSERVE_CONFIG=/etc/attnserve/attnserve.json -e ATTNSERVE_WORKERS=2 \
        -e ATTNSERVE_BLAS_THREADS=1 -e ATTNSERVE_LOG_FORMAT=text "$IMAGE" --check 2>&1); then
    echo "$check_out" >&2
    fail "the image does not accept the ConfigMap's configuration"
fi
case "$check_out" in
    *"2 workers"*) ;;
    *) echo "$check_out" >&2; fail "ATTNSERVE_WORKERS=2 was not applied" ;;
esac

# SIGTERM (podman stop) drains and exits 0.
log "podman stop (SIGTERM)"
podman stop -t 40 "$NAME" >/dev/null || fail "podman stop failed"
status=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$status" = 0 ] || fail "the server exited with status $status on SIGTERM"
[ -z "${KEEP:-}" ] || podman start "$NAME" >/dev/null

log "image-test: OK — $IMAGE, $((size / 1000000)) MB, runs as $ids (uid ${uids%%[[:space:]]*}), translation: $translation"
