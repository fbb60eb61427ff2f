import { existsSync, readFileSync } from 'node:fs';
import { ask } from '../control/client.cjs';
import type { Diagnosis } from '../control/protocol.cjs';
import { configFlag, parseVerbArgs } from './args.cjs';
import { locateRunDir } from './locate.cjs';

/** `nile doctor [--json]`: why the app failed, with the evidence; exit 1 when the app failed or something is wrong now (notes of the past do not count). */
export async function doctor(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('doctor', argv);
  if (typeof parsed === 'number') return parsed;
  const configFile = configFlag(parsed);
  let diagnosis: Diagnosis;
  let unreachable: string | null = null;
  try {
    diagnosis = (await ask(await locateRunDir(configFile), 'doctor', 60_000)) as Diagnosis;
  } catch (err) {
    unreachable = (err as Error).message;
    diagnosis = await withoutAgent(configFile);
  }
  const { phase, failed, lastOutput, findings } = diagnosis;
  // Without the agent the running app is not examined: "nothing found" would say more than was seen.
  if (unreachable) process.stderr.write(`nile doctor: could not reach the agent (${unreachable}); only what it left in runDir was examined\n`);
  if (parsed.flags.json) process.stdout.write(JSON.stringify({ phase, failed, findings, lastOutput }, null, 2) + '\n');
  else process.stdout.write(render(diagnosis));
  return unreachable || findings.some((f) => !f.note) || failed ? 1 : 0;
}

const noAgent = 'no agent answering';

// The agent is gone: read the failure report it left and look at the jar and logs from here.
async function withoutAgent(configFile?: string): Promise<Diagnosis> {
  const phase = noAgent;
  const [{ loadConfig }, { examineScene }, { reportFile }, { redactorFor }, { findRunDir }] = await Promise.all([
    import('../config/load.js'),
    import('../agent/scene.js'),
    import('../app/report.js'),
    import('../redact.js'),
    import('../run-dir-rule.cjs').then((rule) => rule.default), // CommonJS: its exports are the default, bundled or not
  ]);
  const loaded = loadConfig({ file: configFile });
  if (!loaded.ok) return { phase, failed: false, lastOutput: [], findings: [{ cause: 'config-invalid', summary: 'the config is invalid', evidence: loaded.errors }] };
  const runDir = findRunDir(loaded.config.runDir); // a report another user could have written is not read
  const file = 'io' in runDir ? reportFile(runDir.io) : null;
  const report = file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  const findings = redactorFor(loaded.config).value(await examineScene({ config: loaded.config, report, output: [] }));
  return { phase, failed: report !== null, lastOutput: report?.lastOutput?.slice(-20) ?? [], findings };
}

function render({ phase, failed, lastOutput, findings }: Diagnosis): string {
  const subject = phase === noAgent ? noAgent : `app ${phase}`;
  const notes = findings.filter((f) => f.note).length;
  const wrong = findings.length - notes;
  const count = (n: number, word: string) => `${n} ${word}${n > 1 ? 's' : ''}`;
  const head = wrong ? `${subject}: ${count(wrong, 'finding')}${notes ? `, ${count(notes, 'note')}` : ''}` : notes ? `nothing wrong now (${subject}); ${count(notes, 'note')}:` : `nothing found (${subject})`;
  const lines = [head];
  findings.forEach((f, i) => lines.push(`${i + 1}. ${f.summary} [${f.cause}${f.level ? `, logged at ${f.level}` : ''}${f.note ? ', note' : ''}]`, ...(f.source ? [`     from ${f.source}`] : []), ...f.evidence.slice(0, 8).map((e) => `     ${e}`)));
  if (failed && lastOutput.length) lines.push('the app\'s last output:', ...lastOutput.map((l) => `  ${l}`));
  return lines.join('\n') + '\n';
}
