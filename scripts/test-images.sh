#!/usr/bin/env bash
# Builds the local Docker images the integration tests use, when they are missing.
# No registry can be reached, so both images are imported from one Debian bookworm
# root file system made with debootstrap. Their entrypoints take the same arguments
# as the official images' commands, so SIPEDGE_REDIS_IMAGE=redis:7 or
# SIPEDGE_NATS_IMAGE=nats:2 work with the same test helpers.
#
# Needs: docker (daemon running) and debootstrap. Idempotent: an image that exists is kept.
set -euo pipefail

REDIS_IMAGE="${SIPEDGE_REDIS_IMAGE:-sipedge-test/redis:bookworm}"
NATS_IMAGE="${SIPEDGE_NATS_IMAGE:-sipedge-test/nats:bookworm}"
CACHE_DIR="${SIPEDGE_IMAGE_CACHE:-/var/cache/sipedge}"
ROOTFS="$CACHE_DIR/rootfs-bookworm"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# Only names under sipedge-test/ are built here; any other (redis:7, a mirror's image)
# is left for Testcontainers to pull.
build_redis=false
build_nats=false
for image in "$REDIS_IMAGE" "$NATS_IMAGE"; do
  if [[ "$image" != sipedge-test/* ]]; then
    echo "test-images: $image is not a local sipedge-test/ image, left to docker pull"
  elif have_image "$image"; then
    echo "test-images: $image present, kept"
  elif [ "$image" = "$REDIS_IMAGE" ]; then
    build_redis=true
  else
    build_nats=true
  fi
done
if ! $build_redis && ! $build_nats; then
  exit 0
fi

start=$SECONDS
mkdir -p "$CACHE_DIR"
rm -rf "$ROOTFS"
trap 'rm -rf "$ROOTFS"' EXIT

echo "test-images: debootstrap bookworm (redis-server, nats-server) into $ROOTFS"
debootstrap --variant=minbase --include=redis-server,nats-server bookworm "$ROOTFS" >"$CACHE_DIR/debootstrap.log" 2>&1 || {
  tail -n 30 "$CACHE_DIR/debootstrap.log" >&2
  exit 1
}
# Trim what a server image doesn't need.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*

# import_image NAME CHANGE... : one image from the shared root file system.
import_image() {
  local name="$1"
  shift
  local changes=()
  for change in "$@"; do
    changes+=(--change "$change")
  done
  tar -C "$ROOTFS" -c . | docker import "${changes[@]}" - "$name" >/dev/null
  echo "test-images: built $name"
}

# Official redis:7 needs no arguments either: it binds all interfaces and turns protected
# mode off by itself. Extra arguments (e.g. `--appendonly yes`) are taken the same way.
if $build_redis; then
  import_image "$REDIS_IMAGE" 'EXPOSE 6379/tcp' \
    'ENTRYPOINT ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]'
fi
# Official nats:2 has ENTRYPOINT nats-server and CMD `--config nats-server.conf`; the tests
# pass their own arguments (`-js -m 8222`), which replace CMD in either image.
if $build_nats; then
  import_image "$NATS_IMAGE" 'EXPOSE 4222/tcp 8222/tcp' \
    'ENTRYPOINT ["nats-server"]' 'CMD ["-js", "-m", "8222"]'
fi

echo "test-images: done in $((SECONDS - start)) s"
