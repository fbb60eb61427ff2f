// One cold classpath scan, as `nile doctor` runs it once in a fresh process: `node doctor-scan.js JAR`
// prints {"ms": …, "findings": n} on stdout.
import { findClasspathConflicts } from '../../src/doctor/classpath.js';

const jar = process.argv[2];
const started = performance.now();
const findings = await findClasspathConflicts({ jar });
process.stdout.write(JSON.stringify({ ms: performance.now() - started, findings: findings.length }) + '\n');
