// An app laid out as jib lays it on nile's base image (container.entrypoint = INHERIT): appRoot with
// libs/, classes/, resources/, jib-classpath-file and jib-main-class-file; nile.yaml names no jar.
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadConfig, type LoadResult } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { classpathOf } from '../src/doctor/classpath/command.js';
import { buildConflictingFatJar } from './helpers/jars.js';
import { JAVA, Nile } from './helpers/nile.js';
import { ROOT } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';
import { yamlFiles } from './helpers/yaml-files.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nile-jib-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const { yamlFile } = yamlFiles(t, 'nile-jib-config-');

/** The fixture app as jib lays it out under `root`, with two versions of one library among its dependencies. */
async function layOutAsJib(root: string): Promise<string[]> {
  const { libDir } = await buildConflictingFatJar(path.join(dir, 'build'));
  await mkdir(path.join(root, 'resources'), { recursive: true });
  await cp(path.join(ROOT, 'build', 'fixture', 'classes'), path.join(root, 'classes'), { recursive: true });
  await cp(libDir, path.join(root, 'libs'), { recursive: true });
  // jib lists resources, classes, then each dependency, absolute under appRoot.
  const libs = (await readdir(path.join(root, 'libs'))).sort().map((jar) => path.join(root, 'libs', jar));
  const classpath = [path.join(root, 'resources'), path.join(root, 'classes'), ...libs];
  await writeFile(path.join(root, 'jib-classpath-file'), classpath.join(':'));
  await writeFile(path.join(root, 'jib-main-class-file'), 'App');
  return classpath;
}

const appRoot = path.join(dir, 'app');
const classpath = await layOutAsJib(appRoot);

function loaded(result: LoadResult): Config {
  if (!result.ok) throw new Error(`config rejected: ${result.errors.join('; ')}`);
  return result.config;
}

t.test("neither app.command nor app.jar: jib's layout is started", async (t) => {
  const config = loaded(loadConfig({ file: yamlFile(`project: demo\nrunDir: /tmp/nile-run\napp: {workdir: ${appRoot}, javaOpts: [-Xmx64m], args: [--port, "8080"]}\n`), env: {} }));
  t.same(config.app.command, ['java', '-XX:+HeapDumpOnOutOfMemoryError', '-XX:HeapDumpPath=/tmp/nile-run/heapdump.hprof', '-Xmx64m', '-cp', `@${appRoot}/jib-classpath-file`, `@${appRoot}/jib-main-class-file`, '--port', '8080']);
  t.equal(config.app.jar, '', 'no jar');
  const jar = loaded(loadConfig({ file: yamlFile(`project: demo\napp: {workdir: ${appRoot}, jar: /srv/svc.jar}\n`), env: {} }));
  t.same(jar.app.command.slice(-2), ['-jar', '/srv/svc.jar'], 'app.jar still wins');
  const none = loaded(loadConfig({ file: yamlFile(`project: demo\napp: {workdir: ${dir}}\n`), env: {} }));
  t.same(none.app.command.slice(-2), ['-jar', '/app/app.jar'], 'without a jib layout, /app/app.jar as before');
});

t.test("the doctor reads the classpath from jib's argument files", async (t) => {
  const command = ['java', '-Xmx64m', '-cp', `@${appRoot}/jib-classpath-file`, `@${appRoot}/jib-main-class-file`, '--port', '8080'];
  t.same(classpathOf(command, {}, '/'), classpath);
  const quoted = path.join(dir, 'quoted-args');
  await writeFile(quoted, `# options\n-cp "${appRoot}/classes"\n`);
  t.same(classpathOf(['java', `@${quoted}`, 'App'], {}, '/'), [`${appRoot}/classes`], 'quotes and comments as java reads them');
  t.same(classpathOf(['java', '-cp', `@${path.join(dir, 'absent')}`, 'App'], {}, '/'), [], 'a missing file: nothing');
});

t.test('nile runs the jib-laid-out app to ready; nile doctor finds the conflict among its libs', async (t) => {
  const port = await freePort();
  const nile = new Nile({
    door: 'node',
    config: { project: 'jib', type: 'web', app: { workdir: appRoot, javaOpts: JAVA.slice(1), args: ['--port', String(port)], startTimeout: '60s' }, probe: { http: { port }, interval: '200ms' } },
  });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 30_000);
  t.ok(nile.stdout.some((l) => l.startsWith('fixture ready after')), 'the main class from jib-main-class-file runs');
  const doctor = JSON.parse((await nile.exec(['doctor', '--json'])).stdout);
  const versions = doctor.findings.find((f: { cause: string }) => f.cause === 'conflicting-versions');
  t.equal(versions?.summary, 'com.example:greeter is on the classpath in 2 versions: 1.0.0, 2.0.0');
  t.same(versions?.evidence.slice(0, 2), [`${appRoot}/libs/greeter-1.0.0.jar (version 1.0.0)`, `${appRoot}/libs/greeter-2.0.0.jar (version 2.0.0)`]);
});
