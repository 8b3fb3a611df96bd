#!/usr/bin/env bash
# Builds the local Node.js base image for deploy/Dockerfile when it is missing.
# No registry can be reached in CI, so instead of the official node:22-slim the base is a
# Debian bookworm minbase root file system (debootstrap, as scripts/test-images.sh does)
# with this host's Node.js binary and npm copied in:
#   /usr/local/bin/node                      the host's node (a self-contained binary: libc, libstdc++)
#   /usr/local/lib/node_modules/npm          the host's npm, linked as /usr/local/bin/npm and npx
#   user and group node, uid/gid 1000        as in the official images
# so it has what the official image has for the Dockerfile: node and npm on PATH and a node user.
# The Node.js version is therefore the host's (`node --version`), not 22.
#
# Env: SIPEDGE_NODE_IMAGE (default sipedge-test/node:bookworm), SIPEDGE_IMAGE_CACHE (work dir,
# default /var/cache/sipedge), NODE_BIN (default: `command -v node`).
# Needs: docker (daemon running), debootstrap, root. Idempotent: an image that exists is kept.
set -euo pipefail

NODE_IMAGE="${SIPEDGE_NODE_IMAGE:-sipedge-test/node:bookworm}"
CACHE_DIR="${SIPEDGE_IMAGE_CACHE:-/var/cache/sipedge}"
ROOTFS="$CACHE_DIR/rootfs-node-bookworm"

if docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
  echo "node-image: $NODE_IMAGE present, kept"
  exit 0
fi
if [[ "$NODE_IMAGE" != sipedge-test/* ]]; then
  echo "node-image: $NODE_IMAGE is not a local sipedge-test/ image, left to docker pull"
  exit 0
fi

node_bin="$(readlink -f "${NODE_BIN:-$(command -v node)}")"
# npm's package directory: npm is a link to <prefix>/lib/node_modules/npm/bin/npm-cli.js.
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
if [ ! -x "$node_bin" ] || [ ! -f "$npm_dir/bin/npm-cli.js" ]; then
  echo "node-image: need node and npm on PATH (found node: '$node_bin', npm dir: '$npm_dir')" >&2
  exit 1
fi
node_version="$("$node_bin" --version)"

start=$SECONDS
mkdir -p "$CACHE_DIR"
rm -rf "$ROOTFS"
trap 'rm -rf "$ROOTFS"' EXIT

echo "node-image: debootstrap bookworm (minbase) into $ROOTFS"
debootstrap --variant=minbase bookworm "$ROOTFS" >"$CACHE_DIR/debootstrap-node.log" 2>&1 || {
  tail -n 30 "$CACHE_DIR/debootstrap-node.log" >&2
  exit 1
}
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* \
  "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/locale/*

echo "node-image: node $node_version from $node_bin, npm from $npm_dir"
install -m 0755 "$node_bin" "$ROOTFS/usr/local/bin/node"
mkdir -p "$ROOTFS/usr/local/lib/node_modules"
cp -a "$npm_dir" "$ROOTFS/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"

# The official images' unprivileged user.
echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$ROOTFS/etc/passwd"
echo 'node:x:1000:' >>"$ROOTFS/etc/group"
echo 'node:*:19000:0:99999:7:::' >>"$ROOTFS/etc/shadow"
install -d -o 1000 -g 1000 "$ROOTFS/home/node"

tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  - "$NODE_IMAGE" >/dev/null
echo "node-image: built $NODE_IMAGE (node $node_version) in $((SECONDS - start)) s"
