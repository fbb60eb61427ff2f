import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { PodMonitor, PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { offlineCalls } from '../src/calls/offline.js';
import { defaultConfigPath, loadConfig } from '../src/config/load.js';
import { createLog } from '../src/log.js';
import { OutOfTraffic } from '../src/prestop/out-of-traffic.js';
import { Traffic } from '../src/traffic/traffic.js';
import { NILE_BIN, ROOT } from './helpers/paths.js';

// The image and its manifests, checked against the repository without a Docker engine: every path
// they copy exists (after `make build`), every command they run is a real nile verb, and the grace
// period covers what the example nile.yaml lets a delete take.

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

/** Logical lines (continuations joined, comments dropped) grouped into stages; ARGs before FROM expanded. */
function parseDockerfile(file: string): { globalArgs: Map<string, string>; stages: Stage[] } {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  let pending = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (!line && !pending)) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const logical = (pending + line).trim();
    pending = '';
    if (!logical) continue;
    const [keyword, ...rest] = logical.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const [image, as, name] = args.split(/\s+/);
      stages.push({ from: image.replace(/\$\{(\w+)\}/g, (_, v) => globalArgs.get(v) ?? ''), name: as?.toUpperCase() === 'AS' ? name : null, instructions: [] });
    } else if (stages.length === 0 && keyword.toUpperCase() === 'ARG') {
      const [key, value = ''] = args.split('=');
      globalArgs.set(key, value);
    } else {
      stages[stages.length - 1].instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return { globalArgs, stages };
}

interface Copy {
  from: string | null;
  sources: string[];
  dest: string;
}

function copiesOf(stage: Stage): Copy[] {
  let workdir = '/';
  const copies: Copy[] = [];
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'WORKDIR') workdir = path.posix.resolve(workdir, args);
    if (keyword !== 'COPY') continue;
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
    const paths = words.filter((w) => !w.startsWith('--'));
    copies.push({ from, sources: paths.slice(0, -1), dest: path.posix.resolve(workdir, paths[paths.length - 1]) });
  }
  return copies;
}

const workdirOf = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'WORKDIR').map((i) => i.args).pop() ?? '/';
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

/** A Dockerfile-specific ignore file of the form `*` then `!path` lines: is `source` in the context? */
function inContext(ignoreFile: string, source: string): boolean {
  const lines = readFileSync(ignoreFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (lines[0] !== '*' || lines.slice(1).some((l) => !l.startsWith('!'))) throw new Error(`${ignoreFile}: expected "*" then "!path" lines only`);
  const clean = source.replace(/^\.\//, '').replace(/\/$/, '');
  return lines.slice(1).some((l) => {
    const allowed = l.slice(1).replace(/\/$/, '');
    return clean === allowed || clean.startsWith(allowed + '/');
  });
}

const nileVerbs = (): Set<string> => {
  const help = spawnSync(process.execPath, [NILE_BIN, '--help'], { encoding: 'utf8' });
  return new Set([...help.stdout.matchAll(/^\s+nile (?:\[)?(\w+)/gm)].map((m) => m[1]));
};

const base = parseDockerfile(path.join(ROOT, 'image', 'Dockerfile'));
const builder = base.stages[0];
const runtime = base.stages[base.stages.length - 1];
const nileHome = '/opt/nile';

t.test('the base image: a builder stage, then a JRE with node and the built nile', async (t) => {
  t.equal(base.stages.length, 2, 'two stages');
  t.equal(builder.name, 'builder', 'the first is the builder');
  const engines = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node as string;
  t.match(builder.from, /^node:\d+-bookworm$/, 'the builder is the official node image by default (NODE_IMAGE)');
  const nodeMajor = Number(/^node:(\d+)/.exec(builder.from)?.[1]);
  t.ok(nodeMajor % 2 === 0 && nodeMajor >= Number(/>=\s*(\d+)/.exec(engines)![1]), `node ${nodeMajor}: an LTS line that satisfies engines ${engines}`);
  const build = runs(builder).join('\n');
  t.match(build, /npm ci\b/, 'npm ci');
  t.match(build, /node-gyp rebuild/, 'builds the addon with node-gyp');
  t.match(build, /npm run build/, 'builds as make does');
  const scripts = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;
  t.match(scripts.build, /tsc -p \..*npm run bundle/, 'which compiles with tsc, then bundles');
  t.match(scripts.bundle, /esbuild dist\/src\/main\.js .*--outdir=dist\/bundle/, 'the run path into dist/bundle');
  t.match(build, /npm prune --omit=dev/, 'keeps production modules only');
  t.match(runtime.from, /^eclipse-temurin:17-jre$|openjdk-17-jre-headless/, 'the runtime is a Java 17 JRE');
  const install = runs(runtime).join('\n');
  for (const [arg, pkg] of [['WITH_SSHD', 'openssh-server'], ['WITH_RUNIT', 'runit']]) {
    t.ok(runtime.instructions.some((i) => i.keyword === 'ARG' && i.args.startsWith(`${arg}=`)), `${arg} build arg`);
    t.match(install, new RegExp(`"\\$${arg}" = "true" \\]; then packages="\\$packages ${pkg}"`), `${pkg} installed only when ${arg}=true`);
  }
  const entrypoint = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT');
  t.same(JSON.parse(entrypoint?.args ?? 'null'), ['nile'], 'ENTRYPOINT ["nile"], exec form: nile is PID 1');
});

t.test('every COPY of the base image names something the repository or its build has', async (t) => {
  const ignore = path.join(ROOT, 'image', 'Dockerfile.dockerignore');
  for (const copy of copiesOf(builder)) {
    for (const source of copy.sources) {
      t.ok(existsSync(path.join(ROOT, source)), `builder: COPY ${source} exists in the repository`);
      t.ok(inContext(ignore, source), `builder: ${source} is in the build context`);
    }
  }
  const workdir = workdirOf(builder);
  const fromBuilder = copiesOf(runtime).filter((c) => c.from === 'builder');
  t.ok(fromBuilder.length >= 5, 'the runtime copies the build out of the builder');
  for (const copy of fromBuilder) {
    for (const source of copy.sources) {
      if (!source.startsWith(workdir + '/')) {
        t.equal(source, '/usr/local/bin/node', `${source}: the node runtime of the builder image`);
        continue;
      }
      const local = path.join(ROOT, path.posix.relative(workdir, source));
      t.ok(existsSync(local), `COPY --from=builder ${source}: ${path.relative(ROOT, local)} is built here`);
    }
  }
  t.same(copiesOf(runtime).filter((c) => c.from === null), [], 'the runtime copies nothing from the context');
});

t.test('the bin, the addon and the config are where nile looks for them', async (t) => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  t.equal(pkg.bin.nile, 'bin/nile.js', 'the package bin is bin/nile.js');
  const copies = copiesOf(runtime);
  const destOf = (source: string) => copies.find((c) => c.sources.some((s) => s.endsWith(source)))?.dest;
  t.equal(destOf('/bin'), `${nileHome}/bin`, 'bin/ lands in /opt/nile');
  t.equal(destOf('/build/Release/nile'), `${nileHome}/build/Release/nile`, 'the native front door lands three levels below /opt/nile, where it finds bin/nile.js');
  t.ok(runs(runtime).some((r) => r.includes(`ln -s ${nileHome}/build/Release/nile /usr/local/bin/nile`)), '`nile` on PATH is the native front door');
  t.match(readFileSync(path.join(ROOT, 'native', 'nile.c'), 'utf8'), /"%s\/bin\/nile\.js"/, 'which hands other verbs to bin/nile.js');
  const importLine = readFileSync(path.join(ROOT, pkg.bin.nile), 'utf8');
  const [bundleFromBin, mainFromBin] = [...importLine.matchAll(/import\('(.+?)'\)/g)].map((m) => m[1]);
  t.equal(path.posix.resolve(`${nileHome}/bin`, bundleFromBin), `${destOf('/dist/bundle')}/main.js`, 'bin/nile.js finds dist/bundle/main.js in the image');
  t.ok(existsSync(path.join(ROOT, 'dist', 'bundle', 'main.js')), 'and it is built here');
  t.equal(path.posix.resolve(`${nileHome}/bin`, mainFromBin), `${destOf('/dist/src')}/main.js`, 'and falls back to dist/src/main.js');
  const fastFromBin = /require\('(\.[^']+)'\)/.exec(importLine)![1];
  t.equal(path.posix.resolve(`${nileHome}/bin`, fastFromBin), `${destOf('/dist/src')}/cli/fast.cjs`, 'and the fast commands in dist/src/cli/fast.cjs');

  // The addon: one of the paths src/native.ts tries, from where its compiled file lands.
  const addon = destOf('/nile_native.node');
  const nativeSource = readFileSync(path.join(ROOT, 'src', 'native.ts'), 'utf8');
  const candidates = [...nativeSource.matchAll(/'([./]+build\/Release\/nile_native\.node)'/g)].map((m) => m[1]);
  t.ok(candidates.length > 0, `native.ts names where it loads the addon from (${candidates.join(', ')})`);
  for (const dir of [destOf('/dist/src'), destOf('/dist/bundle')]) {
    t.ok(candidates.some((c) => path.posix.resolve(dir!, c) === addon), `the addon is copied to ${addon}, where native.js looks from ${dir}`);
  }
  t.ok(existsSync(path.join(ROOT, 'build', 'Release', 'nile_native.node')), 'and it is built here');

  const example = parseDockerfile(path.join(ROOT, 'image', 'example', 'Dockerfile'));
  const configCopy = copiesOf(example.stages[0]).find((c) => c.dest === defaultConfigPath);
  t.ok(configCopy, `the example copies its nile.yaml to ${defaultConfigPath}, where nile reads it`);
});

const exampleDir = path.join(ROOT, 'image', 'example');
const exampleConfig = (env: Record<string, string> = {}) => {
  const loaded = loadConfig({ file: path.join(exampleDir, 'nile.yaml'), env });
  if (!loaded.ok) throw new Error(`image/example/nile.yaml is invalid: ${loaded.errors.join('; ')}`);
  return loaded.config;
};

t.test('the example app image: its nile.yaml is valid and names the jar it copies', async (t) => {
  const example = parseDockerfile(path.join(exampleDir, 'Dockerfile'));
  t.equal(example.stages.length, 1, 'one stage');
  t.match(example.globalArgs.get('BASE'), /^nile-base/, 'on the base image');
  const config = exampleConfig();
  t.pass('image/example/nile.yaml passes the real config loader');
  const copies = copiesOf(example.stages[0]);
  for (const copy of copies) {
    for (const source of copy.sources) {
      t.ok(existsSync(path.join(ROOT, source)), `COPY ${source} exists (after make build)`);
      t.ok(inContext(path.join(exampleDir, 'Dockerfile.dockerignore'), source), `${source} is in the build context`);
    }
  }
  t.ok(copies.some((c) => c.dest === config.app.jar), `the jar lands at app.jar (${config.app.jar})`);
  t.equal(config.app.command[config.app.command.indexOf('-jar') + 1], config.app.jar, 'the generated JVM command runs it');
  t.equal(example.stages[0].instructions.find((i) => i.keyword === 'ENTRYPOINT'), undefined, "the service keeps the base image's ENTRYPOINT");
});

t.test('the deployment: exec readiness probe and preStop are nile verbs, the grace period covers a delete', async (t) => {
  const docs = parseAllDocuments(readFileSync(path.join(ROOT, 'image', 'k8s', 'deployment.yaml'), 'utf8')).map((d) => d.toJS());
  const deployment = docs.find((d) => d?.kind === 'Deployment');
  t.ok(deployment, 'a Deployment');
  const pod = deployment.spec.template.spec;
  t.equal(pod.containers.length, 1, 'one container');
  const [container] = pod.containers;
  const verbs = nileVerbs();
  t.ok(verbs.has('probe') && verbs.has('prestop'), `nile --help lists its verbs (${[...verbs].join(' ')})`);

  const probe = container.readinessProbe;
  t.same(probe.exec.command.slice(0, 1), ['nile'], 'the readiness probe runs nile');
  t.ok(verbs.has(probe.exec.command[1]), `"${probe.exec.command.join(' ')}" is a nile verb`);
  t.equal(probe.exec.command[1], 'probe', 'the probe verb');
  t.ok(probe.timeoutSeconds >= 2, 'timeoutSeconds leaves room for the agent answer (800 ms) and a slow node start');
  t.ok(probe.timeoutSeconds < probe.periodSeconds, 'and is shorter than the period');
  t.equal(container.livenessProbe, undefined, 'no liveness probe');
  const hook = container.lifecycle.preStop.exec.command;
  t.same(hook, ['nile', 'prestop'], 'preStop runs nile prestop');
  t.ok(verbs.has(hook[1]), `"${hook.join(' ')}" is a nile verb`);

  const podIp = container.env.find((e: { name: string }) => e.name === 'POD_IP');
  t.same(podIp?.valueFrom, { fieldRef: { fieldPath: 'status.podIP' } }, 'POD_IP from the downward API');

  const config = exampleConfig();
  const log = createLog('silent');
  const traffic = new Traffic({ onlineCalls: false, offlineCalls: true }, 'none', log);
  const prestopBudget = new OutOfTraffic(config.prestop, () => null, log, traffic, { offlineCalls: offlineCalls(config), offlineDone: async () => '' }).budgetMs();
  const needed = (prestopBudget + config.app.stopTimeout) / 1000;
  t.ok(pod.terminationGracePeriodSeconds >= needed, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} >= prestop budget ${prestopBudget / 1000}s + app.stopTimeout ${config.app.stopTimeout / 1000}s`);
  const ports = container.ports.map((p: { containerPort: number }) => p.containerPort);
  t.ok(ports.includes(config.probe.http.port), 'the app port is declared');
  t.ok(!config.sshd.enabled || ports.includes(config.sshd.port), 'and the sshd port when sshd is on');
});

t.test('the httpGet variant: the kubelet GETs /ready on the port the env turns probe.serve on at; the rest is the deployment', async (t) => {
  const load = (file: string) => parseAllDocuments(readFileSync(path.join(ROOT, 'image', 'k8s', file), 'utf8')).map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');
  const [plain, variant] = [load('deployment.yaml'), load('deployment-http-ready.yaml')];
  const container = variant.spec.template.spec.containers[0];
  const probe = container.readinessProbe;
  t.equal(probe.exec, undefined, 'no exec probe');
  t.equal(probe.httpGet.path, '/ready', 'GET /ready');
  const port = container.ports.find((p: { name: string }) => p.name === probe.httpGet.port);
  t.ok(port, `the probe's port ${probe.httpGet.port} is declared`);
  const env = Object.fromEntries(container.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
  t.equal(exampleConfig(env).probe.serve.port, port.containerPort, 'the env turns on probe.serve at that port, through the real config loader');
  t.equal(exampleConfig().probe.serve.port, 0, 'without it, the example serves no readiness endpoint');
  const rest = (d: { spec: { template: { spec: { containers: Record<string, unknown>[] } } } }) => {
    const copy = structuredClone(d);
    for (const c of copy.spec.template.spec.containers) for (const key of ['readinessProbe', 'ports', 'env']) delete c[key];
    return copy;
  };
  t.same(rest(variant), rest(plain), 'everything else is the deployment: preStop, grace period, limits, securityContext');
  const timing = (p: Record<string, unknown>) => ['periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'].map((key) => p[key]);
  t.same(timing(probe), timing(plain.spec.template.spec.containers[0].readinessProbe), 'with the same period, timeout and thresholds');
});

t.test('monitoring: the PodMonitor scrapes the port the deployment names, the alerts use metrics nile serves', async (t) => {
  const docs = parseAllDocuments(readFileSync(path.join(ROOT, 'image', 'k8s', 'monitoring.yaml'), 'utf8')).map((d) => d.toJS());
  const deployment = parseAllDocuments(readFileSync(path.join(ROOT, 'image', 'k8s', 'deployment.yaml'), 'utf8')).map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const monitor = docs.find((d) => d?.kind === 'PodMonitor');
  const portName = monitor.spec.podMetricsEndpoints[0].port;
  const port = container.ports.find((p: { name: string }) => p.name === portName);
  t.ok(port, `the deployment names the port ${portName}`);
  t.equal(port.containerPort, exampleConfig().metrics.port, "it is the example's metrics.port");
  t.equal(deployment.spec.template.metadata.annotations['prometheus.io/port'], String(port.containerPort), 'so is the scrape annotation');
  const served = readFileSync(path.join(ROOT, 'src', 'metrics', 'serve.ts'), 'utf8');
  const rules = docs.find((d) => d?.kind === 'PrometheusRule').spec.groups.flatMap((g: { rules: unknown[] }) => g.rules);
  t.same(rules.map((r: { alert: string }) => r.alert), ['NileAppNotReady', 'NileMemoryNearLimit'], 'two alerts');
  for (const rule of rules) for (const name of rule.expr.match(/nile_\w+/g)) t.ok(served.includes(`'${name}'`), `${rule.alert}: nile serves ${name}`);
});

// The kinds the manifests use, with the model (and its JSON schema) kubernetes-models has for each.
const models: Record<string, Record<string, { new (data: never): { validate(): void } }>> = {
  'apps/v1': { Deployment },
  v1: { Service, ConfigMap },
  'monitoring.coreos.com/v1': { PodMonitor, PrometheusRule },
};

t.test("every manifest in image/k8s/ is valid against the Kubernetes API's schema for its kind", async (t) => {
  const dir = path.join(ROOT, 'image', 'k8s');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  t.ok(files.length > 0, 'image/k8s/ has manifests');
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS())) {
      if (!doc) continue;
      const Model = models[doc.apiVersion]?.[doc.kind];
      t.ok(Model, `${file}: ${doc.apiVersion} ${doc.kind} is a kind this check knows`);
      if (!Model) continue;
      t.doesNotThrow(() => new Model(doc as never).validate(), `${file}: ${doc.kind} ${doc.metadata?.name} is valid`);
    }
  }
  // The check itself: a manifest with a wrong type fails it.
  const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { enableServiceLinks: 'false', containers: [{ name: 'a', readinessProbe: { exec: { command: 'nile probe' } } }] } } } };
  t.throws(() => new Deployment(broken as never).validate(), /enableServiceLinks must be boolean.*|command must be array/, 'a wrong type is caught');
});

t.test('the deployment sets what a platform team expects: no service links, a securityContext, a memory limit', async (t) => {
  const docs = parseAllDocuments(readFileSync(path.join(ROOT, 'image', 'k8s', 'deployment.yaml'), 'utf8')).map((d) => d.toJS());
  const pod = docs.find((d) => d?.kind === 'Deployment').spec.template.spec;
  const [container] = pod.containers;
  t.equal(pod.enableServiceLinks, false, 'enableServiceLinks: false');
  t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', "the runtime's default seccomp profile");
  t.equal(container.securityContext?.allowPrivilegeEscalation, false, 'no privilege escalation');
  t.same(container.securityContext?.capabilities?.drop, ['ALL'], 'every capability dropped, then only the ones nile and sshd use added');
  t.ok(container.resources?.limits?.memory, `a memory limit (${container.resources?.limits?.memory}; test/oci/life checks the heap and the agent fit)`);
  t.equal(container.resources.requests?.memory, container.resources.limits.memory, 'requested as much as the limit: the node reserves it');
});
