# The two commands of the README: `make demo` and `make test`. Each installs what it needs first.
SHELL := /bin/bash
APT_PACKAGES := zookeeper runit openssh-server openssh-client tini dumb-init hyperfine procps zip util-linux tomcat10 \
  buildah runc mmdebstrap uidmap openssl
FIXTURE_JAR := build/fixture/app.jar
# The one native module (native/nile_native.c, native/relay.c), loaded by src/native.ts.
ADDON := build/Release/nile_native.node
# Built in the same step: the native front door answering `nile probe`, `prestop` and `status` (native/nile.c).
FRONT_DOOR := build/Release/nile
# The test ZooKeeper's classes, recorded once so that each server a test starts maps them (test/helpers/zookeeper.ts).
ZOOKEEPER_ARCHIVE := build/zookeeper.jsa

.PHONY: all deps build image test demo bench typecheck clean

all: build

# Debian packages the tests and the demo use; installed only when one is missing.
deps: node_modules/.installed
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v javac >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# tap builds its test class from the configured plugins (package.json); a run after the plugins
# change rebuilds it but still starts that run's tests with the old one's preloads: build it here.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	npx tap build >/dev/null
	@touch $@

$(ADDON) $(FRONT_DOOR) &: native/nile_native.c native/relay.c native/relay.h native/nile.c binding.gyp node_modules/.installed
	npx node-gyp configure build --nodedir=/usr >/dev/null # not rebuild: its clean would remove the rest of build/

$(FIXTURE_JAR): test/fixtures/java/App.java
	@mkdir -p build/fixture/classes
	javac -nowarn -XDignore.symbol.file -d build/fixture/classes $< 2>&1 | grep -v 'warning\|^Note\|^ \|^[0-9] warning' || true
	jar cfe $@ App -C build/fixture/classes .

# tsc for the tests; the run path loads one bundle of it (a module graph of ~150 files costs ~100 ms more).
build: deps $(ADDON) $(FRONT_DOOR) $(FIXTURE_JAR)
	npm run --silent build
	@$(MAKE) --no-print-directory $(ZOOKEEPER_ARCHIVE)

$(ZOOKEEPER_ARCHIVE): test/helpers/zookeeper.ts /usr/share/java/zookeeper.jar
	node -e "import('./dist/test/helpers/zookeeper.js').then((zookeeper) => zookeeper.writeClassArchive())"

# The base image and the example service image, built with buildah from bases made here with
# mmdebstrap (image/local/); kept between runs outside the checkout, rebuilt when an input changes.
image: build
	image/local/build.sh

typecheck: node_modules/.installed
	npx tsc --noEmit -p .

# `build` has type-checked src/ and test/ already (tsc -p .).
test: build image
	npx tap

demo: build
	node dist/test/demo/demo.js

bench: build
	node dist/test/bench/bench.js

clean:
	rm -rf dist build .tap
