# Sourced by .ci/cluster: build a single-node Kubernetes from the Go module proxy into a cache outside
# the repo. Each binary is built once per version; a later `up` finds it and skips the build.
set -euo pipefail

K8S_VERSION=${AITUI_K8S_VERSION:-1.37.2}   # kubelet <= 1.37 still runs on containerd 1.6 (no RuntimeConfig RPC)
ETCD_VERSION=${AITUI_ETCD_VERSION:-3.6.16}
KWOK_VERSION=${AITUI_KWOK_VERSION:-0.8.0}
PROM_VERSION=${AITUI_PROMETHEUS_VERSION:-0.316.0}   # Prometheus 3.x: Debian's 2.42 has no kubernetes_sd
CACHE=${AITUI_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aitui/cluster}
BIN=$CACHE/bin/k8s-$K8S_VERSION

k8s_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
have kubectl || k8s_binaries+=(kubectl)  # the tests and the user need one; build it where none is installed

built() {  # built NAME...: every binary is in $BIN
    local b; for b in "$@"; do [ -x "$BIN/$b" ] || return 1; done
}

gomod_dir() {  # a scratch module that requires one upstream module, in the cache
    local d=$CACHE/src/$1; mkdir -p "$d"; echo "$d"
}

build_k8s() {
    built "${k8s_binaries[@]}" && return 0
    local minor=${K8S_VERSION#*.}; minor=${minor%%.*}
    local staging=v0.$minor.${K8S_VERSION##*.}
    local d; d=$(gomod_dir "kubernetes-$K8S_VERSION")
    say "building Kubernetes v$K8S_VERSION (${k8s_binaries[*]}) from the Go module proxy into $BIN"
    say "  a cold build takes 20-40 minutes on 2 cores; log: $d/build.log"
    (
        cd "$d"
        [ -f go.mod ] || go mod init aitui.local/k8sbin >/dev/null 2>&1
        # k8s.io/kubernetes points its 33 staging modules at ./staging; pin each to its published twin.
        local gomod
        gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
        local m
        for m in $(grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}'); do
            go mod edit -replace="$m=$m@$staging"
        done
        printf 'package main\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler/app"\n\t_ "k8s.io/kubernetes/cmd/kubelet/app"\n\t_ "k8s.io/kubectl/pkg/cmd"\n)\n\nfunc main() {}\n' > deps.go
        go get "k8s.io/kubernetes@v$K8S_VERSION" >build.log 2>&1
        go mod tidy >>build.log 2>&1
        local pkg=k8s.io/component-base/version
        local ldflags="-s -w -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
        mkdir -p "$BIN"
        local b
        for b in "${k8s_binaries[@]}"; do
            built "$b" && continue
            say "  go build $b"
            go build -trimpath -ldflags "$ldflags" -o "$BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b" >>build.log 2>&1
            mv "$BIN/$b.tmp" "$BIN/$b"
        done
    ) || die "the Kubernetes build failed; see $d/build.log"
}

build_etcd() {
    built etcd && return 0
    local d; d=$(gomod_dir "etcd-$ETCD_VERSION")
    say "building etcd v$ETCD_VERSION into $BIN (a few minutes cold; log: $d/build.log)"
    (
        cd "$d"
        [ -f go.mod ] || go mod init aitui.local/etcd >/dev/null 2>&1
        # etcd's own main is two lines; its go.mod has replaces, so `go install` of it is refused.
        printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
        go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >build.log 2>&1
        go mod tidy >>build.log 2>&1
        mkdir -p "$BIN"
        CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" . >>build.log 2>&1
        mv "$BIN/etcd.tmp" "$BIN/etcd"
    ) || die "the etcd build failed; see $d/build.log"
}

build_kwok() {  # fake nodes for the 5,000-pod benchmark
    built kwok && return 0
    local d; d=$(gomod_dir "kwok-$KWOK_VERSION")
    say "building kwok v$KWOK_VERSION into $BIN (log: $d/build.log)"
    (
        cd "$d"
        [ -f go.mod ] || go mod init aitui.local/kwok >/dev/null 2>&1
        printf 'package main\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n\nfunc main() {}\n' > deps.go
        go get "sigs.k8s.io/kwok@v$KWOK_VERSION" >build.log 2>&1
        go mod tidy >>build.log 2>&1
        mkdir -p "$BIN"
        CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok >>build.log 2>&1
        # kwok's own "fast" stages (node ready + heartbeat, pod ready, pod delete), from its module
        local src; src=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
        mkdir -p "$BIN/kwok-stages"
        cp "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
            "$src"/pod/fast/pod-ready.yaml "$src"/pod/fast/pod-complete.yaml "$src"/pod/fast/pod-delete.yaml \
            "$BIN/kwok-stages/"
        mv "$BIN/kwok.tmp" "$BIN/kwok"
    ) || die "the kwok build failed; see $d/build.log"
}

build_prometheus() {  # a Prometheus with kubernetes_sd (Debian's is built without it)
    built prometheus promtool && return 0
    local d; d=$(gomod_dir "prometheus-$PROM_VERSION")
    say "building Prometheus (module v$PROM_VERSION) with kubernetes_sd into $BIN (log: $d/build.log)"
    (
        cd "$d"
        [ -f go.mod ] || go mod init aitui.local/prometheus >/dev/null 2>&1
        printf 'package main\n\nimport (\n\t_ "github.com/prometheus/prometheus/cmd/prometheus"\n\t_ "github.com/prometheus/prometheus/cmd/promtool"\n)\n\nfunc main() {}\n' > deps.go
        go get "github.com/prometheus/prometheus@v$PROM_VERSION" >build.log 2>&1
        go mod tidy >>build.log 2>&1
        mkdir -p "$BIN"
        # module v0.3MM.P is Prometheus 3.MM.P: stamp it, or its buildinfo (and aitui's header) has no version
        local minor=${PROM_VERSION#0.3}; minor=${minor%%.*}; minor=$((10#$minor))
        local stamp="-X github.com/prometheus/common/version.Version=3.$minor.${PROM_VERSION##*.}"
        local b
        for b in prometheus promtool; do
            CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $stamp" -o "$BIN/$b.tmp" "github.com/prometheus/prometheus/cmd/$b" >>build.log 2>&1
            mv "$BIN/$b.tmp" "$BIN/$b"
        done
    ) || die "the Prometheus build failed; see $d/build.log"
}

build_all() {
    have go || die "Go is needed to build the cluster (go 1.26+)"
    build_etcd
    build_k8s
    build_prometheus
    build_kwok
}
