import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { buildConflictingFatJar } from '../helpers/jars.js';
import { ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { builtImage, exampleNileConfig, startContainer, type BuiltImage } from './runc.js';

// A service image as jib builds it on nile's base (container.entrypoint = INHERIT): layers that add
// /app/libs, /app/resources, /app/classes and jib's two argument files, nothing run, nile still the
// entrypoint. Built here with buildah (from, copy, commit), run under runc with a nile.yaml naming no jar.

function buildah(...args: string[]): string {
  const out = spawnSync('buildah', args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`buildah ${args.join(' ')}: ${out.stderr}`);
  return out.stdout.trim();
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'nile-oci-jib-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

/** The jib image on the built base, mounted: its root filesystem for runc. */
async function jibImage(): Promise<BuiltImage> {
  const base = builtImage();
  const { libDir } = await buildConflictingFatJar(path.join(dir, 'build'));
  const libs = (await readdir(libDir)).sort();
  await writeFile(path.join(dir, 'jib-classpath-file'), ['/app/resources', '/app/classes', ...libs.map((jar) => `/app/libs/${jar}`)].join(':'));
  await writeFile(path.join(dir, 'jib-main-class-file'), 'App');
  const tag = `localhost/demo-jib:test-${process.pid}`;
  const work = buildah('from', '--pull-never', base.base);
  try {
    buildah('copy', '--quiet', work, libDir, '/app/libs');
    buildah('copy', '--quiet', work, path.join(ROOT, 'build', 'fixture', 'classes'), '/app/classes');
    buildah('run', work, 'mkdir', '-p', '/app/resources'); // jib's resources layer, empty for this app
    buildah('copy', '--quiet', work, path.join(dir, 'jib-classpath-file'), path.join(dir, 'jib-main-class-file'), '/app/');
    buildah('commit', '--quiet', work, tag);
  } finally {
    buildah('rm', work);
  }
  const running = buildah('from', '--pull-never', tag);
  t.teardown(() => {
    buildah('rm', running);
    buildah('rmi', tag);
  });
  const config = JSON.parse(buildah('inspect', '--type', 'image', tag)).OCIv1.config;
  return { ...base, example: tag, rootfs: buildah('mount', running), config };
}

t.test("a jib image: nile starts java -cp @/app/jib-classpath-file @/app/jib-main-class-file; the doctor reads its libs", async (t) => {
  const image = await jibImage();
  t.same(image.config.Entrypoint, ['nile'], "the base's entrypoint, inherited");
  const nile = exampleNileConfig();
  delete nile.app.jar;
  delete nile.registry;
  nile.sshd.enabled = false;
  nile.probe.interval = '300ms';
  const c = await startContainer(t, { name: 'jib', nile }, image);
  const probe = await waitFor('nile probe: ready', async () => {
    const answer = await c.exec(['nile', 'probe'], { timeoutMs: 10_000 });
    if (answer.stdout.includes('startup failed')) throw new Error(answer.stdout); // no use waiting for a failed start
    return answer.code === 0 && answer;
  }, 90_000, { everyMs: 300 });
  t.match(probe.stdout, /^ready \(http 200/, probe.stdout.trim());
  const java = c.processes().find((p) => p.comm === 'java');
  const cmdline = java ? readFileSync(`/proc/${java.pid}/cmdline`, 'utf8').split('\0').filter(Boolean) : [];
  t.match(cmdline.slice(-4), ['@/app/jib-classpath-file', '@/app/jib-main-class-file', '--port', '8080'], `the JVM runs jib's layout: ${cmdline.join(' ')}`);
  const doctor = JSON.parse((await c.exec(['nile', 'doctor', '--json'], { timeoutMs: 60_000 })).stdout);
  const versions = doctor.findings.find((f: { cause: string }) => f.cause === 'conflicting-versions');
  t.equal(versions?.summary, 'com.example:greeter is on the classpath in 2 versions: 1.0.0, 2.0.0', 'the doctor found the two versions in /app/libs');
  t.same(versions?.evidence.slice(0, 2), ['/app/libs/greeter-1.0.0.jar (version 1.0.0)', '/app/libs/greeter-2.0.0.jar (version 2.0.0)']);
});
