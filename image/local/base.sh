#!/bin/bash
# The two base images of image/Dockerfile, made here from Debian's packages and the npm registry,
# without a registry of images: nile-local/jre (Debian with a JRE, for JRE_IMAGE) and
# nile-local/node-builder (Debian with Node, npm and a C toolchain, for NODE_IMAGE). Each is
# tagged with a hash of this file and versions.env, so a made one is reused and a change remakes it.
# Prints the two image names, one a line. Needs root, mmdebstrap, buildah, npm, openssl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${NILE_IMAGE_CACHE:-/var/cache/nile-image}
# npm in the builder trusts what npm here trusts (a machine behind a TLS-inspecting proxy adds its CA).
cafile=$(npm config get cafile 2>/dev/null || true)
[ -f "$cafile" ] || cafile=/dev/null
key=$(cat "$here/base.sh" "$here/versions.env" "$cafile" | sha256sum | cut -c1-16)
jre=localhost/nile-local/jre:$key
builder=localhost/nile-local/node-builder:$key

exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# npm pack checks the registry's integrity; the pinned one is checked again here.
fetch() {
  local spec=$1 integrity=$2 dir="$cache/npm" file
  mkdir -p "$dir"
  file="$dir/$(echo "${spec%@*}" | tr / -)-${spec##*@}.tgz"
  if [ ! -f "$file" ]; then
    npm pack "$spec" --pack-destination "$dir" --silent >/dev/null
  fi
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "base.sh: $spec has integrity $got, pinned $integrity" >&2
    rm -f "$file"
    exit 1
  fi
  echo "$file"
}

# mmdebstrap into a scratch container's root, then commit it as an image. Man pages and docs are
# left out as in Debian's own container images; the JRE's postinst still needs man1 to exist.
make_image() {
  local name=$1 packages=$2 customize=$3 mnt
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  echo "base.sh: making $name (mmdebstrap $DEBIAN_SUITE + $packages)" >&2
  mmdebstrap --quiet --variant=apt --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --essential-hook='mkdir -p "$1/usr/share/man/man1"' \
    --customize-hook="$customize" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$DEBIAN_SUITE" "$mnt" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" \
    "deb $DEBIAN_SECURITY $DEBIAN_SUITE-security main" >&2
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd /bin/bash --label "nile.local.key=$key" "$ctr"
  buildah commit --quiet "$ctr" "$name" >/dev/null
  buildah rm "$ctr" >/dev/null
  ctr=
}
# The scratch container of a recipe that failed goes too.
ctr=
trap '[ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1' EXIT

if ! exists "$jre"; then
  make_image "$jre" "$JRE_PACKAGES" 'true'
fi
if ! exists "$builder"; then
  node_tgz=$(fetch "$NODE_PACKAGE" "$NODE_INTEGRITY")
  npm_tgz=$(fetch "$NPM_PACKAGE" "$NPM_INTEGRITY")
  # As the official node image lays it out: /usr/local/bin/node, headers in /usr/local/include/node.
  make_image "$builder" "$BUILDER_PACKAGES" "tar -xzf '$node_tgz' -C \"\$1/usr/local\" --strip-components=1 package/bin package/include package/share \
    && mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$npm_tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1 \
    && ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\" && ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\" \
    && if [ -s '$cafile' ]; then cp '$cafile' \"\$1/etc/ssl/certs/npm-cafile.pem\" && mkdir -p \"\$1/usr/local/etc\" && echo cafile=/etc/ssl/certs/npm-cafile.pem >\"\$1/usr/local/etc/npmrc\"; fi \
    && chroot \"\$1\" node --version && chroot \"\$1\" npm --version"
fi
# Bases made from an older recipe are not used again.
buildah images --format '{{.Name}}:{{.Tag}}' | grep -E '^localhost/nile-local/(jre|node-builder):' | grep -v ":$key\$" | xargs -r buildah rmi >/dev/null 2>&1 || true
echo "$jre"
echo "$builder"
