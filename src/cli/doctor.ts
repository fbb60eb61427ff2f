import { existsSync, readFileSync } from 'node:fs';
import { ask } from '../control/client.cjs';
import { configFlag, parseVerbArgs } from './args.cjs';
import { locateRunDir } from './locate.cjs';

interface Finding {
  cause: string;
  summary: string;
  evidence: string[];
}

/** `nile doctor [--json]`: why the app failed, with the evidence; exit 1 when something is found. */
export async function doctor(argv: string[]): Promise<number> {
  const parsed = parseVerbArgs('doctor', argv);
  if (typeof parsed === 'number') return parsed;
  const configFile = configFlag(parsed);
  let phase = 'unknown';
  let findings: Finding[];
  try {
    const answer = (await ask(await locateRunDir(configFile), 'doctor', 60_000)) as { phase: string; findings: Finding[] };
    phase = answer.phase;
    findings = answer.findings;
  } catch {
    phase = 'no agent answering';
    findings = await withoutAgent(configFile);
  }
  if (parsed.flags.json) process.stdout.write(JSON.stringify({ phase, findings }, null, 2) + '\n');
  else process.stdout.write(render(phase, findings));
  return findings.length ? 1 : 0;
}

// The agent is gone: read the failure report it left and look at the jar and logs from here.
async function withoutAgent(configFile?: string): Promise<Finding[]> {
  const [{ loadConfig }, { examineScene }, { reportFile }, { redactorFor }] = await Promise.all([
    import('../config/load.js'),
    import('../agent/scene.js'),
    import('../app/report.js'),
    import('../redact.js'),
  ]);
  const loaded = loadConfig({ file: configFile });
  if (!loaded.ok) return [{ cause: 'config-invalid', summary: 'the config is invalid', evidence: loaded.errors }];
  const file = reportFile(loaded.config.runDir);
  const report = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  return redactorFor(loaded.config).value(await examineScene({ config: loaded.config, report, output: [] }));
}

function render(phase: string, findings: Finding[]): string {
  if (findings.length === 0) return `nothing found (app ${phase})\n`;
  const lines = [`app ${phase}: ${findings.length} finding${findings.length > 1 ? 's' : ''}`];
  findings.forEach((f, i) => lines.push(`${i + 1}. ${f.summary} [${f.cause}]`, ...f.evidence.slice(0, 8).map((e) => `     ${e}`)));
  return lines.join('\n') + '\n';
}
