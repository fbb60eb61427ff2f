#!/bin/sh
# V8's code for every module nile's start loads, made once when the image is built, in the image
# itself (the paths and the flags the front door gives Node are those of run time): bin/nile.js turns
# the cache on when /opt/nile/compile-cache exists. The agent comes up once with every client the
# example config names (the HTTP probe, ZooKeeper, metrics, sshd), is stopped, and Node writes the cache as
# it exits. Node keeps a folder per user: the restricted Deployment's (10001) gets the same code.
set -eu
cache=/opt/nile/compile-cache
work=$(mktemp -d)
mkdir -p "$cache" "$work/services"
port=$((20000 + $$ % 20000)) # free ports of the build's network, for the metrics and sshd
cat >"$work/nile.yaml" <<EOF
project: compile-cache
type: web
app: {command: [sleep, "600"], restart: never}
probe: {http: {port: 1}}
registry: {address: 127.0.0.1, zookeeper: {connect: "127.0.0.1:1"}}
metrics: {port: $port}
sshd: {enabled: true, port: $((port + 1)), listen: 127.0.0.1}
services: $work/services
runDir: $work/run
EOF
nile run --config "$work/nile.yaml" 2>"$work/log" &
agent=$!
tries=0
until grep -q '"nile started"' "$work/log"; do
  tries=$((tries + 1))
  if [ "$tries" -gt 600 ]; then cat "$work/log" >&2; kill -KILL "$agent"; exit 1; fi
  sleep 0.1
done
kill -TERM "$agent"
wait "$agent" || true
for own in "$cache"/*-0; do cp -a "$own" "${own%-0}-10001"; done
chmod -R a+rX "$cache" # Node writes its entries 0600: the code of public modules, for every user
rm -rf "$work"
echo "compile cache: $(find "$cache" -type f | wc -l) entries in $cache"
