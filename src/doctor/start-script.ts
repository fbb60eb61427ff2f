import type { Finding } from '../control/protocol.cjs';
import type { ScriptRun } from '../app/jvm.js';

/** The app is a script that runs java as its child: nile reaches the JVM around it, `exec java` makes it the app. */
export function startScriptFinding(script: ScriptRun, command: string[]): Finding {
  const jvms = script.jvms.join(', ');
  return {
    cause: 'start-script',
    summary: `the start script runs java as a child (${script.name} pid ${script.pid}, JVM pid ${jvms}): \`exec java …\` in the script makes the JVM the app itself, so signals and its exit status reach nile without the shell in between`,
    evidence: [`app process: ${script.name} (pid ${script.pid}), command: ${command.join(' ')}`, `JVM under it: pid ${jvms}`],
  };
}

/** The JVM ended while its start script went on, and the script exited 0: the script hid how the JVM ended. */
export function jvmEndedFinding(jvm: number, script: ScriptRun | undefined): Finding {
  return {
    cause: 'jvm-ended',
    summary: `the JVM (pid ${jvm}) ended under the start script, which then exited 0: a crash whose status the script did not pass on`,
    evidence: [`JVM pid ${jvm} gone before the script${script ? ` (${script.name} pid ${script.pid})` : ''}`, 'script exit status 0'],
  };
}
