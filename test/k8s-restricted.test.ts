import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './helpers/paths.js';

// image/k8s/deployment-restricted.yaml against the Pod Security Standards' "restricted" profile,
// control by control and field by field as the Kubernetes documentation lists them
// (kubernetes.io/docs/concepts/security/pod-security-standards: the Baseline controls, then the
// Restricted ones). The check itself is shown to fail on deployment.yaml, the root variant.

type Doc = Record<string, any>;

const deploymentIn = (file: string): Doc => parseAllDocuments(readFileSync(path.join(ROOT, 'image', 'k8s', file), 'utf8')).map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');

/** Every container of the pod, with where it is: containers, initContainers, ephemeralContainers. */
function containersOf(spec: Doc): Array<{ at: string; c: Doc }> {
  return ['containers', 'initContainers', 'ephemeralContainers'].flatMap((kind) => ((spec[kind] ?? []) as Doc[]).map((c, i) => ({ at: `spec.${kind}[${i}]`, c })));
}

const unset = (v: unknown) => v === undefined || v === null;

/** What breaks the "restricted" profile in a pod template (metadata and spec), one line per field. */
export function restrictedViolations(template: Doc): string[] {
  const spec = template.spec as Doc;
  const pod = (spec.securityContext ?? {}) as Doc;
  const containers = containersOf(spec);
  const out: string[] = [];
  const check = (ok: boolean, field: string, value: unknown, allowed: string) => ok || out.push(`${field}: ${JSON.stringify(value)} (allowed: ${allowed})`);

  // Baseline: HostProcess.
  check(unset(pod.windowsOptions?.hostProcess) || pod.windowsOptions.hostProcess === false, 'spec.securityContext.windowsOptions.hostProcess', pod.windowsOptions?.hostProcess, 'undefined, false');
  for (const { at, c } of containers) check(unset(c.securityContext?.windowsOptions?.hostProcess) || c.securityContext.windowsOptions.hostProcess === false, `${at}.securityContext.windowsOptions.hostProcess`, c.securityContext?.windowsOptions?.hostProcess, 'undefined, false');
  // Baseline: Host Namespaces.
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) check(unset(spec[field]) || spec[field] === false, `spec.${field}`, spec[field], 'undefined, false');
  // Baseline: Privileged Containers.
  for (const { at, c } of containers) check(unset(c.securityContext?.privileged) || c.securityContext.privileged === false, `${at}.securityContext.privileged`, c.securityContext?.privileged, 'undefined, false');
  // Baseline: Capabilities (the Restricted control below narrows it).
  const baselineCaps = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];
  for (const { at, c } of containers) for (const cap of c.securityContext?.capabilities?.add ?? []) check(baselineCaps.includes(cap), `${at}.securityContext.capabilities.add`, cap, baselineCaps.join(', '));
  // Baseline: HostPath Volumes.
  for (const [i, v] of ((spec.volumes ?? []) as Doc[]).entries()) check(unset(v.hostPath), `spec.volumes[${i}].hostPath`, v.hostPath, 'undefined');
  // Baseline: Host Ports.
  for (const { at, c } of containers) for (const [i, p] of ((c.ports ?? []) as Doc[]).entries()) check(unset(p.hostPort) || p.hostPort === 0, `${at}.ports[${i}].hostPort`, p.hostPort, 'undefined, 0');
  // Baseline: AppArmor.
  const appArmor = (v: unknown) => unset(v) || v === 'RuntimeDefault' || v === 'Localhost';
  check(appArmor(pod.appArmorProfile?.type), 'spec.securityContext.appArmorProfile.type', pod.appArmorProfile?.type, 'undefined, RuntimeDefault, Localhost');
  for (const { at, c } of containers) check(appArmor(c.securityContext?.appArmorProfile?.type), `${at}.securityContext.appArmorProfile.type`, c.securityContext?.appArmorProfile?.type, 'undefined, RuntimeDefault, Localhost');
  for (const [key, value] of Object.entries((template.metadata?.annotations ?? {}) as Record<string, string>)) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/')) check(value === 'runtime/default' || value.startsWith('localhost/'), `metadata.annotations["${key}"]`, value, 'runtime/default, localhost/*');
  }
  // Baseline: SELinux.
  const seLinuxTypes = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'];
  for (const [at, sc] of [['spec.securityContext', pod], ...containers.map(({ at, c }) => [`${at}.securityContext`, c.securityContext ?? {}])] as Array<[string, Doc]>) {
    check(unset(sc.seLinuxOptions?.type) || seLinuxTypes.includes(sc.seLinuxOptions.type), `${at}.seLinuxOptions.type`, sc.seLinuxOptions?.type, 'undefined, "", container_t, container_init_t, container_kvm_t, container_engine_t');
    for (const field of ['user', 'role']) check(unset(sc.seLinuxOptions?.[field]) || sc.seLinuxOptions[field] === '', `${at}.seLinuxOptions.${field}`, sc.seLinuxOptions?.[field], 'undefined, ""');
  }
  // Baseline: /proc Mount Type.
  for (const { at, c } of containers) check(unset(c.securityContext?.procMount) || c.securityContext.procMount === 'Default', `${at}.securityContext.procMount`, c.securityContext?.procMount, 'undefined, Default');
  // Baseline: Sysctls.
  const safeSysctls = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'];
  for (const [i, s] of ((pod.sysctls ?? []) as Doc[]).entries()) check(safeSysctls.includes(s.name), `spec.securityContext.sysctls[${i}].name`, s.name, safeSysctls.join(', '));

  // Restricted: Volume Types.
  const volumeTypes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
  for (const [i, v] of ((spec.volumes ?? []) as Doc[]).entries()) {
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    check(kinds.length === 1 && volumeTypes.includes(kinds[0]), `spec.volumes[${i}]`, kinds, volumeTypes.join(', '));
  }
  // Restricted: Privilege Escalation.
  for (const { at, c } of containers) check(c.securityContext?.allowPrivilegeEscalation === false, `${at}.securityContext.allowPrivilegeEscalation`, c.securityContext?.allowPrivilegeEscalation, 'false');
  // Restricted: Running as Non-root (a container may leave it to the pod's true).
  check(unset(pod.runAsNonRoot) || pod.runAsNonRoot === true, 'spec.securityContext.runAsNonRoot', pod.runAsNonRoot, 'true');
  for (const { at, c } of containers) {
    const own = c.securityContext?.runAsNonRoot;
    check(own === true || (unset(own) && pod.runAsNonRoot === true), `${at}.securityContext.runAsNonRoot`, own, 'true; undefined when spec.securityContext.runAsNonRoot is true');
  }
  // Restricted: Running as Non-root user.
  check(unset(pod.runAsUser) || pod.runAsUser !== 0, 'spec.securityContext.runAsUser', pod.runAsUser, 'any non-zero value, undefined');
  for (const { at, c } of containers) check(unset(c.securityContext?.runAsUser) || c.securityContext.runAsUser !== 0, `${at}.securityContext.runAsUser`, c.securityContext?.runAsUser, 'any non-zero value, undefined');
  // Restricted: Seccomp (a container may leave it to the pod's).
  const seccomp = (v: unknown) => v === 'RuntimeDefault' || v === 'Localhost';
  check(unset(pod.seccompProfile?.type) || seccomp(pod.seccompProfile.type), 'spec.securityContext.seccompProfile.type', pod.seccompProfile?.type, 'RuntimeDefault, Localhost');
  for (const { at, c } of containers) {
    const own = c.securityContext?.seccompProfile?.type;
    check(seccomp(own) || (unset(own) && seccomp(pod.seccompProfile?.type)), `${at}.securityContext.seccompProfile.type`, own, "RuntimeDefault, Localhost; undefined when the pod's is one of them");
  }
  // Restricted: Capabilities.
  for (const { at, c } of containers) {
    const caps = c.securityContext?.capabilities ?? {};
    check(((caps.drop ?? []) as string[]).includes('ALL'), `${at}.securityContext.capabilities.drop`, caps.drop, 'any list that includes ALL');
    for (const cap of caps.add ?? []) check(cap === 'NET_BIND_SERVICE', `${at}.securityContext.capabilities.add`, cap, 'undefined, NET_BIND_SERVICE');
  }
  return out;
}

t.test('deployment-restricted.yaml meets the "restricted" profile, every control', async (t) => {
  const deployment = deploymentIn('deployment-restricted.yaml');
  t.same(restrictedViolations(deployment.spec.template), [], 'no field breaks a control');
  const [container] = deployment.spec.template.spec.containers;
  t.equal(container.securityContext.readOnlyRootFilesystem, true, 'a read-only root, as many clusters ask beyond the profile');
  const mounts = Object.fromEntries((container.volumeMounts as Doc[]).map((m) => [m.mountPath, m.name]));
  const emptyDirs = new Set((deployment.spec.template.spec.volumes as Doc[]).filter((v) => v.emptyDir).map((v) => v.name));
  t.ok(emptyDirs.has(mounts['/run/nile']), 'runDir (/run/nile) is an emptyDir: the scene outlives the container');
  t.ok(emptyDirs.has(mounts['/tmp']), '/tmp is an emptyDir: the JVM writes there');
  t.same(container.env.find((e: Doc) => e.name === 'NILE_SSHD_ENABLED'), { name: 'NILE_SSHD_ENABLED', value: 'false' }, 'sshd, which needs root, is off');
});

t.test('it is the root Deployment with only the security settings changed: probe, hook, grace period, resources', async (t) => {
  const root = deploymentIn('deployment.yaml').spec.template.spec;
  const restricted = deploymentIn('deployment-restricted.yaml').spec.template.spec;
  t.equal(restricted.terminationGracePeriodSeconds, root.terminationGracePeriodSeconds, 'the same grace period');
  for (const field of ['readinessProbe', 'lifecycle', 'resources', 'image']) t.same(restricted.containers[0][field], root.containers[0][field], `the same ${field}`);
});

t.test('the check fails the root Deployment, naming its fields', async (t) => {
  const violations = restrictedViolations(deploymentIn('deployment.yaml').spec.template);
  t.ok(violations.some((v) => v.startsWith('spec.containers[0].securityContext.capabilities.add: "SETUID"')), 'its capabilities');
  t.ok(violations.some((v) => v.startsWith('spec.containers[0].securityContext.runAsNonRoot: ')), 'no runAsNonRoot');
  const broken = structuredClone(deploymentIn('deployment-restricted.yaml').spec.template);
  Object.assign(broken.spec, { hostPID: true, volumes: [...broken.spec.volumes, { name: 'host', hostPath: { path: '/' } }] });
  broken.spec.securityContext.seccompProfile.type = 'Unconfined';
  broken.spec.containers[0].ports[0].hostPort = 8080;
  t.same(
    restrictedViolations(broken).map((v) => v.split(':')[0]),
    ['spec.hostPID', 'spec.volumes[2].hostPath', 'spec.containers[0].ports[0].hostPort', 'spec.volumes[2]', 'spec.securityContext.seccompProfile.type', 'spec.containers[0].securityContext.seccompProfile.type'],
    'and each field a pod may break',
  );
});
