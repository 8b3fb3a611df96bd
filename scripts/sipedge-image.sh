#!/usr/bin/env bash
# Builds the sipedge container image (deploy/Dockerfile) from this repository.
#
#   SIPEDGE_IMAGE       the tag to build (default sipedge-test/sipedge:latest); the image is also
#                       tagged <name>:<git short sha>, with -dirty when the work tree has changes
#   SIPEDGE_NODE_IMAGE  the Node.js base (default sipedge-test/node:bookworm, which
#                       scripts/node-image.sh builds without a registry; node:22-slim with one)
#   SIPEDGE_IMAGE_FROM  `worktree` (default: the files as they are) or a git revision such as
#                       HEAD (its committed tree, through `git archive`: other changes left out)
#
# The build stages run `npm ci`, so they need the npm registry. When NODE_EXTRA_CA_CERTS names a
# CA bundle on this host (a TLS-inspecting proxy), the build stages get it through a derived
# base image, sipedge-test/node-build; the runtime image does not.
# Docker's layer cache keeps the install layers until a package.json or the lockfile changes, so
# a rebuild after a source change costs only `npm run build`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

IMAGE="${SIPEDGE_IMAGE:-sipedge-test/sipedge:latest}"
NODE_IMAGE="${SIPEDGE_NODE_IMAGE:-sipedge-test/node:bookworm}"
FROM="${SIPEDGE_IMAGE_FROM:-worktree}"
start=$SECONDS

if [[ "$NODE_IMAGE" == sipedge-test/* ]] && ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
  echo "sipedge-image: $NODE_IMAGE is missing: run scripts/node-image.sh first" >&2
  exit 1
fi

# The build stages' base: the Node.js base, plus this host's CA bundle when it has an extra one.
build_image="$NODE_IMAGE"
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  build_image="sipedge-test/node-build:$(sha256sum "$NODE_EXTRA_CA_CERTS" | cut -c1-12)"
  ca_context="$(mktemp -d)"
  trap 'rm -rf "$ca_context"' EXIT
  cp "$NODE_EXTRA_CA_CERTS" "$ca_context/extra-ca.crt"
  printf '%s\n' "FROM $NODE_IMAGE" \
    'COPY extra-ca.crt /usr/local/share/sipedge-build/extra-ca.crt' \
    'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/sipedge-build/extra-ca.crt' >"$ca_context/Dockerfile"
  docker build -q -t "$build_image" "$ca_context" >/dev/null
  echo "sipedge-image: build stages on $build_image ($NODE_IMAGE + $NODE_EXTRA_CA_CERTS)"
fi

revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ "$FROM" = worktree ]; then
  if [ -n "$(git status --porcelain 2>/dev/null)" ]; then revision="$revision-dirty"; fi
else
  revision="$(git rev-parse --short "$FROM")"
fi
build_args=(--build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "BUILD_IMAGE=$build_image"
  --label "org.opencontainers.image.revision=$revision" -f deploy/Dockerfile -t "$IMAGE")
if [ "$FROM" = worktree ]; then
  echo "sipedge-image: building $IMAGE from the work tree ($revision) on $NODE_IMAGE"
  docker build "${build_args[@]}" .
else
  echo "sipedge-image: building $IMAGE from git $FROM ($revision) on $NODE_IMAGE"
  git archive --format=tar "$FROM" | docker build "${build_args[@]}" -
fi
docker tag "$IMAGE" "${IMAGE%:*}:$revision"
size="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
echo "sipedge-image: built $IMAGE (also ${IMAGE%:*}:$revision), $((size / 1000000)) MB, in $((SECONDS - start)) s"
