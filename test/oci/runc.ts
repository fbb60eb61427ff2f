import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { parseAllDocuments, stringify } from 'yaml';
import { collectExec, type ExecResult } from '../helpers/exec.js';
import { parseLog } from '../helpers/kubelet.js';
import { eachLine, type LogLine } from '../helpers/nile.js';
import { ROOT } from '../helpers/paths.js';
import { childrenOf, podProcessesOf, type PodProcess } from '../helpers/proc.js';
import { settlesWithin, waitFor } from '../helpers/wait.js';

// The built image (make image) run as the kubelet's runtime runs it: containerd's CRI hands runc a
// bundle made from the image's root filesystem and config; `runc exec` is the path of the exec
// readiness probe and of the preStop hook; `runc kill` delivers the grace period's TERM and KILL.

/** What `make image` wrote to build/image.json. */
export interface BuiltImage {
  base: string;
  example: string;
  id: string;
  rootfs: string;
  config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string };
  node: string;
  java: string;
}

export function builtImage(): BuiltImage {
  const file = path.join(ROOT, 'build', 'image.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run make image`);
  const image = JSON.parse(readFileSync(file, 'utf8')) as BuiltImage;
  if (!existsSync(path.join(image.rootfs, 'usr'))) throw new Error(`${image.rootfs} is gone: run make image`);
  return image;
}

/** Who a pod's processes run as: the pod's securityContext, overridden by the container's. */
interface RunAs {
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
}

export interface DeploymentPod {
  terminationGracePeriodSeconds: number;
  containers: DeploymentContainer[];
  securityContext?: RunAs & { seccompProfile?: { type: string } };
  volumes?: Array<{ name: string; emptyDir?: object }>;
  [key: string]: unknown;
}

/** The pod spec of an example Deployment in image/k8s/ (deployment.yaml: nile as root). */
export function deploymentPod(manifest = 'deployment.yaml'): DeploymentPod {
  const docs = parseAllDocuments(readFileSync(path.join(ROOT, 'image', 'k8s', manifest), 'utf8')).map((d) => d.toJS());
  return docs.find((d) => d?.kind === 'Deployment').spec.template.spec;
}

export interface DeploymentContainer {
  securityContext: RunAs & { allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[]; add?: string[] }; readOnlyRootFilesystem?: boolean };
  resources: { limits: { memory: string } };
  env?: Array<{ name: string; value?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  [key: string]: unknown;
}

/** Its one container. */
export const deploymentContainer = (manifest?: string): DeploymentContainer => deploymentPod(manifest).containers[0];

/** The user, group and supplementary groups the runtime gives the container's processes (none set: root). */
export function processUserOf(pod: DeploymentPod, container: DeploymentContainer): { uid: number; gid: number; additionalGids?: number[] } {
  const runAs = { ...pod.securityContext, ...container.securityContext };
  const fsGroup = pod.securityContext?.fsGroup;
  return { uid: runAs.runAsUser ?? 0, gid: runAs.runAsGroup ?? 0, ...(fsGroup !== undefined ? { additionalGids: [fsGroup] } : {}) };
}

/**
 * A directory as the kubelet makes an emptyDir: root's, mode 0777; with the pod's fsGroup,
 * group-owned by it, mode 2777.
 */
export function makeEmptyDir(dir: string, fsGroup?: number): string {
  mkdirSync(dir, { recursive: true });
  chownSync(dir, 0, fsGroup ?? 0);
  chmodSync(dir, fsGroup === undefined ? 0o777 : 0o2777);
  return dir;
}

/** The token a Secret would mount for the gateway's calls. */
export const gatewayToken = 'oci-gateway-token';

/** The example image's own nile.yaml, as an object to derive a scenario's from. */
export function exampleNileConfig(): Record<string, any> {
  return parseAllDocuments(readFileSync(path.join(ROOT, 'image', 'example', 'nile.yaml'), 'utf8'))[0].toJS();
}

/**
 * The company gateway is not reachable here: the online and offline calls (the gateway's and the RPC
 * framework's) go to the test app's own endpoints, on the port it is probed on (a hostNetwork
 * scenario moves it), the gateway's with the token file mounted where a Secret would be.
 */
function callsInside(nile: Record<string, any>): Record<string, any> {
  const copy = structuredClone(nile);
  for (const kind of ['online', 'offline'] as const) {
    for (const call of copy[kind] ?? []) call.url = `http://127.0.0.1:${copy.probe.http.port}/${kind}`;
  }
  return copy;
}

/** Every file the config's calls read their header values from, holding the test's token. */
function headerFilesOf(nile: Record<string, any>): Record<string, { content: string; mode: number }> {
  const calls = [...(nile.online ?? []), ...(nile.offline ?? [])] as Array<{ headerFiles?: Record<string, string> }>;
  return Object.fromEntries(calls.flatMap((c) => Object.values(c.headerFiles ?? {})).map((file) => [file, { content: `${gatewayToken}\n`, mode: 0o600 }]));
}

/** Kubernetes quantity (Mi, Gi, M, plain bytes) in bytes. */
export function bytesOf(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(quantity);
  if (!m) throw new Error(`not a memory quantity: ${quantity}`);
  const unit: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };
  return Math.round(Number(m[1]) * (m[2] ? unit[m[2]] : 1));
}

// containerd's default capabilities, from which a securityContext drops and to which it adds.
const runtimeDefaultCaps = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'];

/** The capabilities a container gets under the Deployment's securityContext. */
export function capabilitiesOf(securityContext: DeploymentContainer['securityContext']): string[] {
  const drop = securityContext.capabilities?.drop ?? [];
  const kept = drop.includes('ALL') ? [] : runtimeDefaultCaps.filter((c) => !drop.includes(c));
  return [...new Set([...kept, ...(securityContext.capabilities?.add ?? [])])].map((c) => `CAP_${c}`);
}

// The pod's seccompProfile RuntimeDefault: the default profile of Debian's containers-common (what
// buildah and podman apply), from the same Moby profile containerd's RuntimeDefault is made of,
// turned into the runtime spec's form for x86-64 and the container's capabilities.
const defaultSeccompProfile = '/usr/share/containers/seccomp.json';

interface DockerSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap: Array<{ architecture: string; subArchitectures: string[] }>;
  syscalls: Array<{ names: string[]; action: string; args?: object[] | null; errnoRet?: number; includes?: { caps?: string[]; arches?: string[] }; excludes?: { caps?: string[]; arches?: string[] } }>;
}

export function runtimeDefaultSeccomp(caps: string[]): object {
  const profile = JSON.parse(readFileSync(defaultSeccompProfile, 'utf8')) as DockerSeccomp;
  const x86 = profile.archMap.find((a) => a.architecture === 'SCMP_ARCH_X86_64')!;
  const applies = ({ includes = {}, excludes = {} }: DockerSeccomp['syscalls'][number]) =>
    (!includes.arches || includes.arches.includes('amd64')) &&
    !excludes.arches?.includes('amd64') &&
    (includes.caps ?? []).every((c) => caps.includes(c)) &&
    !(excludes.caps ?? []).some((c) => caps.includes(c));
  return {
    defaultAction: profile.defaultAction,
    defaultErrnoRet: profile.defaultErrnoRet,
    architectures: [x86.architecture, ...x86.subArchitectures],
    syscalls: profile.syscalls.filter(applies).map(({ names, action, args, errnoRet }) => ({ names, action, ...(args?.length ? { args } : {}), ...(errnoRet !== undefined ? { errnoRet } : {}) })),
  };
}

export interface ContainerSpec {
  name: string;
  nile: Record<string, unknown>; // mounted at /etc/nile/nile.yaml, as a ConfigMap would be
  hostNetwork?: boolean; // a hostNetwork: true pod; otherwise its own network namespace with loopback
  memoryLimit?: string; // resources.limits.memory; the Deployment's by default
  env?: Record<string, string>;
  files?: Record<string, { content: string; mode?: number }>; // more files mounted read-only, by path in the container
  manifest?: string; // the Deployment in image/k8s/ whose container this is: its user, capabilities, root, volumes
  emptyDirs?: string[]; // more emptyDir mounts than the manifest's, by path in the container
  volumes?: Record<string, string>; // host directories for emptyDir mounts, by path in the container (a pod's, kept across containers); others are made fresh
  dropStdout?: boolean; // the container's stdout (the app's output) goes to /dev/null, not into lines (a flood of it)
}

export interface Exited {
  code: number | null; // runc run's status: the container's, 128+N when a signal N killed PID 1
  at: number;
}

const exeOf = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
};

/** runDir as nile uses it in the Deployment's container: on the pod's emptyDir, root's 0777, so runDir/private. */
export const deploymentRunDir = '/run/nile/private';

export const runcRoot = '/run/nile-oci-runc';
let serial = 0;

const bundles = path.join(os.tmpdir(), 'nile-oci');

// A test process killed outright leaves its containers running (runc run's child outlives it):
// the next one removes those whose test process (the pid in the id) is gone.
function removeOrphans(): void {
  const ids = new Set([runcRoot, bundles].flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : [])));
  for (const id of ids) {
    const owner = Number(/^nile-.+-(\d+)-\d+$/.exec(id)?.[1]);
    if (!owner || existsSync(`/proc/${owner}`)) continue;
    removeContainer(id, path.join(bundles, id));
  }
}

function removeContainer(id: string, bundle: string): void {
  spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id]);
  rmSync(path.join(runcRoot, id), { recursive: true, force: true });
  spawnSync('umount', ['-l', path.join(bundle, 'rootfs')]);
  rmSync(bundle, { recursive: true, force: true });
}
removeOrphans();

/** One container of the example image under runc, started by `runc run` and kept after it ends (for `runc state`). */
export class Container {
  readonly id: string;
  readonly dir: string;
  readonly lines: Array<{ at: number; stream: 'stdout' | 'stderr'; text: string; log?: LogLine }> = [];
  readonly exited: Promise<Exited>;
  readonly cgroupsPath: string;
  private readonly proc: ChildProcess;
  private readonly rootfs: string;
  private readonly execs = new Set<ChildProcess>();
  private exitedAt: number | null = null;

  constructor(readonly spec: ContainerSpec, image = builtImage()) {
    this.id = `nile-${spec.name}-${process.pid}-${++serial}`;
    this.dir = path.join(bundles, this.id);
    mkdirSync(this.dir, { recursive: true });
    this.cgroupsPath = `/nile-oci/${this.id}`;
    // The image's layers below, the container's own writable layer above, as the runtime's snapshotter does.
    this.rootfs = path.join(this.dir, 'rootfs');
    for (const d of ['upper', 'work', 'rootfs', 'files']) mkdirSync(path.join(this.dir, d));
    run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${image.rootfs},upperdir=${this.dir}/upper,workdir=${this.dir}/work`, this.rootfs]);
    writeFileSync(path.join(this.dir, 'config.json'), JSON.stringify(this.bundleConfig(image), null, 2));
    this.proc = spawn('runc', ['--root', runcRoot, 'run', '--keep', '--bundle', this.dir, this.id], { stdio: ['ignore', spec.dropStdout ? 'ignore' : 'pipe', 'pipe'] });
    const closed = new Promise<void>((resolve) => this.proc.on('close', () => resolve()));
    for (const stream of ['stdout', 'stderr'] as const) {
      const from = this.proc[stream];
      if (from) eachLine(from, (text) => this.lines.push({ at: Date.now(), stream, text, log: parseLog(text) ?? undefined }));
    }
    this.exited = new Promise<Exited>((resolve) => this.proc.on('exit', (code) => closed.then(() => resolve({ code, at: (this.exitedAt = Date.now()) }))));
  }

  private bundleConfig(image: BuiltImage): object {
    const pod = deploymentPod(this.spec.manifest);
    const container = pod.containers[0];
    const user = processUserOf(pod, container);
    const fsGroup = pod.securityContext?.fsGroup;
    const spawned = spawnSync('runc', ['spec', '--bundle', this.dir], { encoding: 'utf8' });
    if (spawned.status !== 0) throw new Error(`runc spec: ${spawned.stderr}`);
    const config = JSON.parse(readFileSync(path.join(this.dir, 'config.json'), 'utf8'));
    const files: Record<string, { content: string; mode?: number }> = { '/etc/nile/nile.yaml': { content: stringify(callsInside(this.spec.nile)) }, ...headerFilesOf(this.spec.nile), ...this.spec.files };
    const mounts = Object.entries(files).map(([dest, { content, mode }], i) => {
      const source = path.join(this.dir, 'files', String(i));
      writeFileSync(source, content, { mode: mode ?? 0o644 });
      // With fsGroup the kubelet makes a Secret's or ConfigMap's files group-owned by it and group-readable.
      if (fsGroup !== undefined) {
        chownSync(source, 0, fsGroup);
        chmodSync(source, (mode ?? 0o644) | 0o040);
      }
      return { destination: dest, type: 'bind', source, options: ['rbind', 'ro'] };
    });
    const emptyDirNames = new Set((pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
    const emptyDirs = [...new Set([...(container.volumeMounts ?? []).filter((m) => emptyDirNames.has(m.name)).map((m) => m.mountPath), ...(this.spec.emptyDirs ?? []), ...Object.keys(this.spec.volumes ?? {})])];
    const volumeMounts = emptyDirs.map((dest, i) => {
      const source = this.spec.volumes?.[dest] ?? makeEmptyDir(path.join(this.dir, 'volumes', String(i)), fsGroup);
      return { destination: dest, type: 'bind', source, options: ['rbind', 'rw'] };
    });
    const limit = bytesOf(this.spec.memoryLimit ?? container.resources.limits.memory);
    const caps = capabilitiesOf(container.securityContext);
    // As the CRI does: the image's env, HOSTNAME, then the pod's.
    const podEnv = { ...Object.fromEntries((container.env ?? []).flatMap((e) => (e.value !== undefined ? [[e.name, e.value]] : []))), ...this.spec.env };
    const env = [...(image.config.Env ?? []), `HOSTNAME=${this.spec.name}`, ...Object.entries(podEnv).map(([k, v]) => `${k}=${v}`)];
    return {
      ...config,
      root: { path: this.rootfs, readonly: container.securityContext.readOnlyRootFilesystem === true },
      hostname: this.spec.name,
      process: {
        ...config.process,
        terminal: false,
        args: [...(image.config.Entrypoint ?? []), ...(image.config.Cmd ?? [])],
        env,
        cwd: image.config.WorkingDir || '/',
        user,
        noNewPrivileges: container.securityContext.allowPrivilegeEscalation === false,
        capabilities: { bounding: caps, effective: caps, permitted: caps },
      },
      mounts: [...config.mounts, ...mounts, ...volumeMounts],
      linux: {
        ...config.linux,
        cgroupsPath: this.cgroupsPath,
        // No swap to escape to: the limit is the limit, as on a node without swap.
        resources: { ...config.linux.resources, memory: { limit, swap: limit } },
        ...(pod.securityContext?.seccompProfile?.type === 'RuntimeDefault' ? { seccomp: runtimeDefaultSeccomp(caps) } : {}),
        namespaces: config.linux.namespaces.filter((ns: { type: string }) => !(this.spec.hostNetwork && ns.type === 'network')),
      },
    };
  }

  /** PID 1 of the container as the host sees it (runc state). */
  state(): { status: string; pid: number } {
    const out = spawnSync('runc', ['--root', runcRoot, 'state', this.id], { encoding: 'utf8' });
    if (out.status !== 0) return { status: 'absent', pid: 0 };
    return JSON.parse(out.stdout);
  }

  isRunning(): boolean {
    return this.exitedAt === null;
  }

  /** Waits until PID 1 runs nile (runc has exec'd the entrypoint). */
  async started(timeoutMs = 20_000): Promise<number> {
    return this.waitFor('the container to run', () => {
      if (!this.isRunning()) throw new Error(`${this.spec.name}: runc run ended: ${this.lines.map((l) => l.text).join('\n')}`);
      const { status, pid } = this.state();
      return status === 'running' && pid > 0 && pid;
    }, timeoutMs);
  }

  /**
   * `runc exec` with the container's process (env, capabilities) as the CRI's exec does. At the
   * timeout the exec'd process is killed, as containerd kills a timed-out exec probe; whatever it
   * started stays in the container, for PID 1.
   */
  exec(command: string[], { timeoutMs = 60_000, env = {} }: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ExecResult> {
    const pidFile = path.join(this.dir, `exec-${++serial}.pid`);
    const args = ['--root', runcRoot, 'exec', '--pid-file', pidFile, ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]), this.id, ...command];
    const proc = spawn('runc', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return collectExec(proc, this.execs, timeoutMs, () => killExecd(pidFile, proc)).finally(() => rmSync(pidFile, { force: true }));
  }

  /** `runc kill`: the signal to PID 1; `all`: to every process of the container at once, as a group OOM kill. */
  kill(signal: 'TERM' | 'KILL' | 'STOP' | 'CONT', { all = false } = {}): void {
    spawnSync('runc', ['--root', runcRoot, 'kill', ...(all ? ['--all'] : []), this.id, signal]);
  }

  /** nile's log events (its stderr, JSON lines). */
  logs(): LogLine[] {
    return this.lines.flatMap((l) => (l.log ? [l.log] : []));
  }

  waitLog(what: string, match: (log: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return this.waitFor(what, () => this.logs().find(match), timeoutMs);
  }

  waitLine(what: string, match: (text: string) => boolean, timeoutMs = 30_000) {
    return this.waitFor(what, () => this.lines.find((l) => match(l.text)), timeoutMs);
  }

  /** Every process of the container, as the host sees them. */
  processes(): PodProcess[] {
    const { pid } = this.state();
    return pid > 0 ? podProcessesOf(pid) : [];
  }

  zombies(): PodProcess[] {
    return this.processes().filter((p) => p.state === 'Z');
  }

  /** The container's first process as the host sees it, without asking runc (runc run's child). */
  firstProcess(): number | null {
    return childrenOf(this.proc.pid!)[0] ?? null;
  }

  /** Sends `signal` from the host straight to the container's JVM (how a test moves the fixture on); its host pid. */
  signalJava(signal: NodeJS.Signals): number {
    const java = this.processes().find((p) => p.comm === 'java');
    if (!java) throw new Error(`${this.spec.name}: no JVM to send ${signal} to`);
    process.kill(java.pid, signal);
    return java.pid;
  }

  /** The Node agent as the host sees it: PID 1 is the front door, the agent its child running node. */
  agentPid(): number | null {
    const { pid } = this.state();
    return this.processes().find((p) => p.ppid === pid && exeOf(p.pid).endsWith('/usr/local/bin/node'))?.pid ?? null;
  }

  /** Polls `check` until it gives a value; the error names the container and its last lines. */
  waitFor<T>(what: string, check: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
    const recent = () => this.lines.slice(-6).map((l) => l.text.slice(0, 300));
    return waitFor(`${what} in ${this.spec.name}`, check, timeoutMs, { context: () => `last lines:\n${recent().join('\n')}` });
  }

  /**
   * Deletes the pod as the kubelet kills its container: the preStop hook (runc exec) within the
   * grace period, the whole seconds it took taken off, TERM with what is left (never less than 2 s),
   * then KILL. A test about that KILL passes, instead of seconds, a function called once TERM is sent
   * that resolves when the test has seen what it needs before the KILL: the grace period is over then.
   * Resolves with the container's exit and which signals it took.
   */
  async deletePod(grace: number | (() => Promise<unknown>), preStop: string[] | null = ['nile', 'prestop']): Promise<{ exited: Exited; hook: ExecResult | null; killed: boolean; termAt: number }> {
    const deleted = Date.now();
    const hook = preStop ? await this.exec(preStop, typeof grace === 'number' ? { timeoutMs: grace * 1000 } : {}) : null;
    const termAt = Date.now();
    this.kill('TERM');
    const inTime =
      typeof grace === 'number'
        ? await settlesWithin(this.exited, Math.max(grace - Math.floor((termAt - deleted) / 1000), 2) * 1000)
        : await Promise.race([this.exited.then(() => true), grace().then(() => !this.isRunning())]);
    if (!inTime) this.kill('KILL');
    return { exited: await this.exited, hook, killed: !inTime, termAt };
  }

  /** Everything the container left: processes, runc's state, the overlay, the bundle, the cgroup. */
  async remove(): Promise<void> {
    for (const proc of this.execs) proc.kill('SIGKILL');
    if (this.isRunning()) {
      this.kill('KILL');
      await settlesWithin(this.exited, 10_000);
    }
    removeContainer(this.id, this.dir);
  }
}

/** A container under test (of the example image unless told): started now, removed with the test whatever happens. */
export async function startContainer(t: Test, spec: ContainerSpec, image?: BuiltImage): Promise<Container> {
  const container = new Container(spec, image);
  t.teardown(() => container.remove());
  await container.started().catch(async (err) => {
    await container.remove();
    throw err;
  });
  return container;
}

// containerd kills the exec'd process itself (runc exec's pid file names it); runc exec then exits.
function killExecd(pidFile: string, runcExec: ChildProcess): void {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  } catch {
    runcExec.kill('SIGKILL');
  }
}

function run(command: string, args: string[]): void {
  const out = spawnSync(command, args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${out.stderr}`);
}
