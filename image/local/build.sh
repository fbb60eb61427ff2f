#!/bin/bash
# `make image`: the base image (image/Dockerfile) and the example service image (image/example/)
# built with buildah from the locally made bases (base.sh), then the example's root filesystem
# unpacked for runc (test/oci/). Each image is tagged with a hash of what goes into it, so an
# unchanged input is not built again; everything is kept outside the checkout, in buildah's
# storage and in $NILE_IMAGE_CACHE (/var/cache/nile-image). Writes build/image.json for the tests.
# Needs root, buildah, mmdebstrap, runc, npm; `make build` first (the example copies the test app's jar).
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${NILE_IMAGE_CACHE:-/var/cache/nile-image}
mkdir -p "$cache/rootfs" build
# One build at a time on this machine: another checkout may be building the same images.
exec 9>"$cache/lock"
flock 9

exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }
image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1"; }
# A hash of files (their paths and contents) and of extra words (base image IDs).
hash_of() {
  local words=$1
  shift
  { echo "$words"; find "$@" -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16
}

mapfile -t bases < <(image/local/base.sh)
jre=${bases[0]}
builder=${bases[1]}

# The context of image/Dockerfile is what its .dockerignore lets in.
base_inputs=(image/Dockerfile image/Dockerfile.dockerignore image/runtime-modules.mjs image/compile-cache.sh package.json package-lock.json binding.gyp native tsconfig.json src bin)
base=localhost/nile-base:$(hash_of "$(image_id "$jre") $(image_id "$builder")" "${base_inputs[@]}")
if ! exists "$base"; then
  echo "image: building $base (image/Dockerfile, NODE_IMAGE=$builder, JRE_IMAGE=$jre)" >&2
  buildah bud --isolation chroot --layers --force-rm --quiet -f image/Dockerfile --ignorefile image/Dockerfile.dockerignore \
    --build-arg NODE_IMAGE="$builder" --build-arg JRE_IMAGE="$jre" -t "$base" . >&2
fi

example_inputs=(image/example build/fixture/app.jar)
example=localhost/demo-web:$(hash_of "$(image_id "$base")" "${example_inputs[@]}")
if ! exists "$example"; then
  echo "image: building $example (image/example/Dockerfile on $base)" >&2
  buildah bud --isolation chroot --layers --force-rm --quiet -f image/example/Dockerfile --ignorefile image/example/Dockerfile.dockerignore \
    --build-arg BASE="$base" -t "$example" . >&2
fi

# Keep the eight newest of each (several checkouts may build here); the layers they share stay.
for repo in localhost/nile-base localhost/demo-web; do
  buildah images --format '{{.CreatedAtRaw}}|{{.Name}}:{{.Tag}}' | grep "|$repo:" | sort -r | tail -n +9 | cut -d'|' -f2 |
    xargs -r buildah rmi >/dev/null 2>&1 || true
done

# The root filesystem runc runs (read-only below each container's own overlay), and the image's config.
id=$(image_id "$example")
rootfs=$cache/rootfs/$id
if [ ! -f "$rootfs.json" ]; then
  echo "image: unpacking $example into $rootfs" >&2
  rm -rf "$rootfs" "$rootfs.tmp"
  ctr=$(buildah from --pull-never "$example")
  mnt=$(buildah mount "$ctr")
  mkdir -p "$rootfs.tmp"
  cp -a "$mnt/." "$rootfs.tmp/"
  buildah umount "$ctr" >/dev/null
  buildah rm "$ctr" >/dev/null
  mv "$rootfs.tmp" "$rootfs"
  buildah inspect --type image "$example" | node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8")).OCIv1.config))' >"$rootfs.json"
  # Keep the eight newest unpacked images.
  ls -1t "$cache/rootfs" | grep -v '\.json$' | tail -n +9 | while read -r old; do rm -rf "${cache:?}/rootfs/$old" "$cache/rootfs/$old.json"; done
fi

node_version=$(chroot "$rootfs" /usr/local/bin/node --version)
java_version="openjdk-17-jre-headless $(chroot "$rootfs" dpkg-query -W -f='${Version}' openjdk-17-jre-headless)"
cat >build/image.json <<JSON
{"base": "$base", "example": "$example", "id": "$id", "rootfs": "$rootfs", "config": $(cat "$rootfs.json"), "node": "$node_version", "java": "$java_version"}
JSON
echo "image: $base (nile on Node $node_version; $java_version)"
echo "image: $example (the example service: image/example/nile.yaml and the test app)"
echo "image: root filesystem for runc in $rootfs"
