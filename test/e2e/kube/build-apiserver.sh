#!/usr/bin/env bash
# Build kube-apiserver v1.20.2 from Debian bookworm's `kubernetes` source package
# and cache the binary outside the repository, keyed by version.
#
#   test/e2e/kube/build-apiserver.sh          # prints the cached binary's path on the last line
#
# Idempotent: when the cached binary exists, nothing else happens.
# Facts: docs/envtest.md of the shared docs (source package, reflect2 swap, build command).
set -euo pipefail

KUBE_VERSION="v1.20.2"
KUBE_COMMIT="faecb196815e248d3ecfb03c680a4507229c2a56"
DEB_UPSTREAM="1.20.5+really1.20.2"
ORIG_TARBALL="kubernetes_${DEB_UPSTREAM}.orig.tar.gz"
ORIG_SHA256="b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc"

CACHE_DIR="${BACKOFF_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backoff-guard}"
BIN="$CACHE_DIR/kube-apiserver-$KUBE_VERSION"
WORK="$CACHE_DIR/build-$KUBE_VERSION"
REFLECT2_SRC="/usr/share/gocode/src/github.com/modern-go/reflect2"
SRC_LIST="/etc/apt/sources.list.d/backoff-guard-deb-src.sources"

log() { printf '[build-apiserver] %s\n' "$*" >&2; }
die() { printf '[build-apiserver] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -x "$BIN" ]]; then
  log "cached: $BIN"
  echo "$BIN"
  exit 0
fi

# One build at a time (parallel test files, two terminals): wait for the other, then re-check.
mkdir -p "$CACHE_DIR"
if command -v flock >/dev/null; then
  exec 9>"$CACHE_DIR/.build-$KUBE_VERSION.lock"
  flock 9
  if [[ -x "$BIN" ]]; then
    log "cached (built meanwhile): $BIN"
    echo "$BIN"
    exit 0
  fi
fi

[[ "$(uname -s)" == Linux ]] || die "needs Linux (Debian bookworm); found $(uname -s)"
command -v apt-get >/dev/null || die "apt-get not found: this script needs a Debian (bookworm) machine"
command -v sha256sum >/dev/null || die "sha256sum not found (coreutils)"

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || die "not root and no sudo: cannot apt-get install the build prerequisites"
  SUDO=(sudo)
fi

# 1. Build tools (only install what is missing).
need_pkgs=()
for p in golang-go make rsync golang-github-modern-go-reflect2-dev etcd-server dpkg-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done

# 2. deb-src lines for bookworm and bookworm-security.
have_src=0
if grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
  have_src=1
fi
updated=0
if [[ $have_src == 0 ]]; then
  log "adding deb-src sources: $SRC_LIST"
  "${SUDO[@]}" tee "$SRC_LIST" >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
if [[ $have_src == 0 || ${#need_pkgs[@]} -gt 0 ]]; then
  log "apt-get update"
  "${SUDO[@]}" apt-get update -qq || die "apt-get update failed (no access to the Debian mirrors?)"
  updated=1
fi
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
  log "apt-get install ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" \
    || die "apt-get install ${need_pkgs[*]} failed"
fi
for c in go make rsync etcd; do
  command -v "$c" >/dev/null || die "'$c' is still not on PATH after installing the prerequisites"
done
[[ -d "$REFLECT2_SRC" ]] || die "$REFLECT2_SRC missing (package golang-github-modern-go-reflect2-dev)"

# 3. The source package (orig tarball with vendor/), checked by sha256.
mkdir -p "$WORK"
cd "$WORK"
if [[ ! -f "$ORIG_TARBALL" ]] || ! echo "$ORIG_SHA256  $ORIG_TARBALL" | sha256sum -c --status; then
  rm -f "$ORIG_TARBALL"
  log "apt-get source --download-only kubernetes (in $WORK)"
  if ! apt-get source --download-only kubernetes >apt-source.log 2>&1; then
    if [[ $updated == 0 ]]; then
      "${SUDO[@]}" apt-get update -qq || true
      apt-get source --download-only kubernetes >apt-source.log 2>&1 || { cat apt-source.log >&2; die "apt-get source kubernetes failed"; }
    else
      cat apt-source.log >&2; die "apt-get source kubernetes failed"
    fi
  fi
  [[ -f "$ORIG_TARBALL" ]] || die "expected $ORIG_TARBALL after apt-get source; got: $(ls)"
fi
echo "$ORIG_SHA256  $ORIG_TARBALL" | sha256sum -c --status \
  || die "sha256 mismatch for $ORIG_TARBALL (want $ORIG_SHA256, got $(sha256sum "$ORIG_TARBALL" | cut -d' ' -f1))"
log "sha256 ok: $ORIG_TARBALL"

# 4. Unpack fresh (a half-finished earlier build is discarded).
rm -rf src && mkdir src
tar -xzf "$ORIG_TARBALL" -C src
top="$(find src -maxdepth 2 -name Makefile -path '*/Makefile' -printf '%h\n' | head -n1)"
[[ -n "$top" && -d "$top/cmd/kube-apiserver" ]] || die "unexpected tarball layout: no Makefile + cmd/kube-apiserver"
cd "$top"

# 5. Swap vendored reflect2 v1.0.1 (broken under Go >= 1.18) for Debian's v1.0.2.
rsync -a --delete --exclude='*_test.go' "$REFLECT2_SRC/" vendor/github.com/modern-go/reflect2/
log "vendor/github.com/modern-go/reflect2 replaced by $REFLECT2_SRC"

# 6. Version stamp (the tarball has no .git).
cat > "$WORK/version.env" <<VER
KUBE_GIT_COMMIT='$KUBE_COMMIT'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_VERSION='$KUBE_VERSION'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
VER

# 7. Build with upstream's Makefile (GOPATH mode, generates openapi first).
log "building kube-apiserver $KUBE_VERSION with $(go version) (takes ~5 minutes on 2 cores)"
start=$(date +%s)
GOPROXY=off CGO_ENABLED=0 KUBE_GIT_VERSION_FILE="$WORK/version.env" \
  make WHAT=cmd/kube-apiserver GOFLAGS=-tags=providerless \
  || die "make WHAT=cmd/kube-apiserver failed (see output above)"
out="_output/bin/kube-apiserver"
[[ -x "$out" ]] || out="$(find _output -type f -name kube-apiserver -perm -u+x | head -n1)"
[[ -n "$out" && -x "$out" ]] || die "build finished but no kube-apiserver binary under _output/"
"$out" --version >&2 || die "built binary does not run"
log "built in $(( $(date +%s) - start ))s"

# 8. Cache atomically, then drop the build tree (keep the verified tarball).
cp "$out" "$BIN.tmp.$$" && chmod 0755 "$BIN.tmp.$$" && mv -f "$BIN.tmp.$$" "$BIN"
cd "$WORK" && rm -rf src
log "cached: $BIN"
echo "$BIN"
