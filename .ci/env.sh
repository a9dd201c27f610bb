# Shared by .ci/up and .ci/test: bring up what aitui and its tests need, each step idempotent.
# Source it; every function may be called again and does nothing when its part is already there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${AITUI_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/aitui}
BASE_IMAGE_LOCAL=aitui/base:bookworm
VENV=$ROOT/.venv
PROM_ADDR=127.0.0.1:9090
mkdir -p "$STATE"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds or time runs out
    local deadline=$((SECONDS + $1)) what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

ensure_packages() {  # Debian packages for the engine, Prometheus, the base image, load tests and an sshd
    local missing=()
    have dockerd || missing+=(docker.io)
    have prometheus || missing+=(prometheus)
    have debootstrap || missing+=(debootstrap)
    have tmux || missing+=(tmux)
    [ -x /usr/sbin/sshd ] || missing+=(openssh-server)  # the remote-engine tests' sshd on 127.0.0.1
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! is_root || ! have apt-get; then
        say "missing: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})"
        return 0
    fi
    say "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's prometheus package would start its own service where there is an init system; ours
    # runs with the project's config instead.
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        python3 -m venv "$VENV"
    fi
    local stamp=$VENV/.installed
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        say "installing aitui and its test tools into $VENV"
        "$VENV/bin/pip" install -q --upgrade pip >/dev/null
        "$VENV/bin/pip" install -q -e "$ROOT[dev]"
        touch "$stamp"
    fi
}

docker_ok() { docker info >/dev/null 2>&1; }

ensure_dockerd() {
    docker_ok && return 0
    if is_root && have dockerd; then
        say "starting dockerd (log: $STATE/dockerd.log)"
        setsid nohup dockerd >"$STATE/dockerd.log" 2>&1 < /dev/null &
        wait_for 60 "the Docker engine" docker info || die "dockerd did not answer within 60s; see $STATE/dockerd.log"
        return 0
    fi
    local msg="no Docker engine answers: start one (sudo dockerd, or systemctl start docker) or set DOCKER_HOST"
    [ "${CI:-}" = true ] && die "$msg"
    say "$msg"
}

ensure_base_image() {  # a local Debian base: no registry of images is reachable from here
    docker_ok || return 0
    docker image inspect "$BASE_IMAGE_LOCAL" >/dev/null 2>&1 && return 0
    if ! is_root || ! have debootstrap; then
        say "no $BASE_IMAGE_LOCAL and no root to debootstrap it: builds will use python:3.11-slim"
        return 0
    fi
    say "building $BASE_IMAGE_LOCAL with debootstrap (about a minute)"
    local rootfs
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" \
        "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$STATE/debootstrap.log" 2>&1 \
        || die "debootstrap failed; see $STATE/debootstrap.log"
    # What a runtime image does not need: package caches, docs, man pages, locales.
    rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc \
        "$rootfs"/usr/share/man "$rootfs"/usr/share/info "$rootfs"/usr/share/locale
    tar -C "$rootfs" -c . | docker import -c 'CMD ["python3"]' - "$BASE_IMAGE_LOCAL" >/dev/null
    rm -rf "$rootfs"
}

base_image() {  # the BASE_IMAGE to build with: the local one when there is one
    if docker image inspect "$BASE_IMAGE_LOCAL" >/dev/null 2>&1; then echo "$BASE_IMAGE_LOCAL"
    else echo python:3.11-slim; fi
}

ensure_wheelhouse() {  # the recognizer's wheels, fetched on the host (which trusts the TLS path)
    local wh=$ROOT/serving/wheels stamp=$ROOT/serving/wheels/.complete
    local reqs=("$ROOT"/serving/requirements-*.txt)
    if [ -f "$stamp" ] && [ -z "$(find "${reqs[@]}" -newer "$stamp")" ]; then return 0; fi
    say "downloading the recognizer's wheels into serving/wheels (air-gapped builds)"
    local args=()
    for r in "${reqs[@]}"; do args+=(-r "$r"); done
    "$VENV/bin/pip" download -q --python-version 3.11 --only-binary=:all: -d "$wh" "${args[@]}"
    touch "$stamp"
}

prometheus_ok() { curl -sf "http://$PROM_ADDR/-/ready" >/dev/null 2>&1; }

ensure_prometheus() {  # the local Prometheus, scraping the targets aitui lists in $STATE/targets
    prometheus_ok && return 0
    if ! have prometheus; then
        local msg="no Prometheus at $PROM_ADDR and no prometheus binary (apt-get install prometheus)"
        [ "${CI:-}" = true ] && die "$msg"
        say "$msg"; return 0
    fi
    mkdir -p "$STATE/targets" "$STATE/prometheus-data"
    cp "$ROOT/manifests/local/prometheus.yml" "$STATE/prometheus.yml"
    rm -rf "$STATE/rules" && cp -r "$ROOT/manifests/local/rules" "$STATE/rules"
    say "starting Prometheus on $PROM_ADDR (log: $STATE/prometheus.log)"
    setsid nohup prometheus --config.file="$STATE/prometheus.yml" --storage.tsdb.path="$STATE/prometheus-data" \
        --web.listen-address="$PROM_ADDR" --web.enable-lifecycle --storage.tsdb.retention.time=2d \
        >"$STATE/prometheus.log" 2>&1 < /dev/null &
    wait_for 30 Prometheus prometheus_ok || die "Prometheus did not become ready; see $STATE/prometheus.log"
}

write_config() {  # aitui's settings for this machine (the user's file wins if it exists)
    local cfg=${XDG_CONFIG_HOME:-$HOME/.config}/aitui/config.toml
    [ -f "$cfg" ] && return 0
    mkdir -p "$(dirname "$cfg")"
    printf 'base_image = "%s"\nprometheus_url = "http://%s"\n' "$(base_image)" "$PROM_ADDR" > "$cfg"
    say "wrote $cfg"
}

ensure_all() {
    ensure_packages
    ensure_venv
    ensure_dockerd
    ensure_base_image
    ensure_wheelhouse
    ensure_prometheus
    write_config
}
