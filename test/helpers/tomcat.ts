// A real Java server for the tests: Debian's tomcat10, run by its own catalina.sh from a base of its own.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const CATALINA_HOME = '/usr/share/tomcat10';
const CATALINA_SH = path.join(CATALINA_HOME, 'bin', 'catalina.sh');

/** Why the Tomcat tests cannot run here, or false. */
export const tomcatMissing = existsSync(CATALINA_SH) ? (false as const) : `Debian's tomcat10 is not installed (${CATALINA_SH}; make deps installs it)`;

export interface TomcatOptions {
  port: number;
  threads?: number; // request threads started with the server (minSpareThreads of its executor)
}

/**
 * A CATALINA_BASE under dir listening on 127.0.0.1:port, with an empty ROOT app (a file put in
 * webapps/ROOT is served as is), and the app section of a nile.yaml that runs it in the foreground.
 */
export async function tomcatBase(dir: string, { port, threads = 10 }: TomcatOptions): Promise<{ base: string; root: string; app: Record<string, unknown> }> {
  const base = path.join(dir, 'tomcat');
  const root = path.join(base, 'webapps', 'ROOT');
  for (const sub of ['conf', 'logs', 'temp', 'work', 'webapps/ROOT']) await mkdir(path.join(base, sub), { recursive: true });
  for (const file of ['web.xml', 'catalina.properties', 'logging.properties', 'context.xml']) await copyFile(path.join(CATALINA_HOME, 'etc', file), path.join(base, 'conf', file));
  await writeFile(
    path.join(base, 'conf', 'server.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Executor name="pool" namePrefix="catalina-exec-" maxThreads="${threads + 50}" minSpareThreads="${threads}"/>
    <Connector executor="pool" port="${port}" address="127.0.0.1" protocol="HTTP/1.1"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
`,
  );
  const app = {
    command: [CATALINA_SH, 'run'],
    // Small stacks and heap: thousands of threads stay cheap.
    env: { CATALINA_HOME, CATALINA_BASE: base, JAVA_OPTS: '-Xss256k -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto' },
  };
  return { base, root, app };
}
