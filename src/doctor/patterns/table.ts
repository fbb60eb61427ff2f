import { causeChain, crashReport, springFailureAnalysis } from './context.js';
import { javaForClassFile } from './java-version.js';

/** One known way a Java app fails, as it shows in the app's output or logs. */
export interface Pattern {
  cause: string;
  match: RegExp;
  summary: (m: RegExpExecArray, context: string[]) => string;
  // Hits of one family and subject are one finding (a BindException and Spring's "Port 8080 was
  // already in use" are the same port); hits without a subject join their family's first finding.
  family: string;
  subject?: (m: RegExpExecArray) => string | undefined;
  // 0: decides the start on its own; 1: a specific fatal error; 2: a general one.
  tier: 0 | 1 | 2;
  context?: (lines: string[], at: number, m: RegExpExecArray) => string[];
  namesClass?: boolean; // the subject is a class whose copies on the classpath are worth a look
  attach?: boolean; // adds evidence to its family's finding; stands alone only when there is none
  fallback?: boolean; // reported only when nothing more specific was found
}

// First match wins for a line, so the more specific rows come first.
export const PATTERNS: Pattern[] = [
  {
    cause: 'unsupported-class-version',
    family: 'class-version',
    tier: 0,
    namesClass: true,
    match: /UnsupportedClassVersionError: (\S+?)(?= has been compiled| : Unsupported major\.minor)(.*)$/,
    subject: (m) => dotted(m[1]!),
    summary: (m) => {
      const needed = /class file version (\d+)|major\.minor version (\d+)/.exec(m[2]!);
      const known = /versions up to (\d+)/.exec(m[2]!);
      const major = Number(needed?.[1] ?? needed?.[2]);
      const runtime = known ? `this JVM runs ${javaForClassFile(Number(known[1]))}` : 'this JVM is older';
      return `${dotted(m[1]!)} was compiled for ${javaForClassFile(major)} (class file version ${major}) but ${runtime}`;
    },
  },
  {
    cause: 'main-class-not-found',
    family: 'missing-class',
    tier: 0,
    namesClass: true,
    match: /Error: Could not find or load main class (\S+)/,
    subject: (m) => dotted(m[1]!),
    summary: (m) => `the main class ${dotted(m[1]!)} cannot be found`,
  },
  {
    cause: 'jar-not-found',
    family: 'jar',
    tier: 0,
    match: /Error: Unable to access jarfile (.+)$/,
    summary: (m) => `the jar ${m[1]!.trim()} cannot be opened`,
  },
  {
    cause: 'corrupt-jar',
    family: 'jar',
    tier: 0,
    match: /Error: Invalid or corrupt jarfile (.+)$/,
    summary: (m) => `the jar ${m[1]!.trim()} is corrupt`,
  },
  {
    cause: 'no-main-class',
    family: 'jar',
    tier: 0,
    match: /no main manifest attribute, in (.+)$/,
    summary: (m) => `${m[1]!.trim()} names no Main-Class in its manifest`,
  },
  {
    cause: 'java-home',
    family: 'java-home',
    tier: 0,
    match: /(?:The (JAVA_HOME|JRE_HOME) environment variable is not defined correctly|Neither the (JAVA_HOME) nor the JRE_HOME environment variable is defined)/,
    context: (lines, at) => lines.slice(at + 1, at + 2).filter((line) => /^(JAVA_HOME|JRE_HOME)=/.test(line)),
    summary: (m, context) => `${m[1] ?? m[2]} does not point at a Java installation${context[0] ? ` (${context[0]})` : ''}: the start script cannot find java`,
  },
  {
    cause: 'bad-jvm-option',
    family: 'jvm-option',
    tier: 0,
    match: /(?:Unrecognized VM option|Unrecognized option:|Invalid (?:initial|maximum) heap size:|Improperly specified VM option)\s*'?([^'\s]+)'?/,
    subject: (m) => m[1],
    summary: (m) => `the JVM rejects the option ${m[1]}`,
  },
  {
    cause: 'native-out-of-memory',
    family: 'jvm-crash',
    tier: 0,
    match: /There is insufficient memory for the Java Runtime Environment to continue/,
    context: crashReport,
    summary: () => 'the JVM could not get native memory from the system (not heap: the container or machine is out of memory)',
  },
  {
    cause: 'jvm-crash',
    family: 'jvm-crash',
    tier: 0,
    match: /A fatal error has been detected by the Java Runtime Environment/,
    context: crashReport,
    summary: (_m, context) => `the JVM crashed${context[0] ? ` (${context[0]})` : ''}`,
  },
  {
    cause: 'port-in-use',
    family: 'port-in-use',
    tier: 1,
    match: /Port (\d+) (?:was |is )?already in use|Failed to bind to \S*?:(\d+)\b|(?:java\.net\.BindException|bind\(\.\.\) failed): Address already in use/,
    subject: (m) => m[1] ?? m[2],
    summary: (m) => (m[1] ?? m[2] ? `port ${m[1] ?? m[2]} is already in use` : 'a port the app listens on is already in use (java.net.BindException)'),
  },
  {
    cause: 'out-of-memory',
    family: 'out-of-memory',
    tier: 1,
    match: /java\.lang\.OutOfMemoryError(?:: (.+))?$/,
    subject: (m) => memoryKind(m[1] ?? '').kind,
    summary: (m) => memoryKind(m[1] ?? '').summary,
  },
  {
    cause: 'heap-dump',
    family: 'out-of-memory',
    tier: 1,
    attach: true,
    match: /Dumping heap to (.+?) \.\.\./,
    context: (_lines, _at, m) => [`heap dump: ${m[1]}`],
    summary: (m) => `a heap dump was written to ${m[1]}`,
  },
  {
    cause: 'heap-dump',
    family: 'out-of-memory',
    tier: 1,
    attach: true,
    match: /^Heap dump file created \[/,
    summary: () => 'a heap dump was written',
  },
  {
    cause: 'class-init-failed',
    family: 'class-init',
    tier: 1,
    match: /java\.lang\.NoClassDefFoundError: Could not initialize class ([\w.$/]+)/,
    subject: (m) => dotted(m[1]!),
    summary: (m) => `class ${dotted(m[1]!)} failed to initialise earlier (look for its ExceptionInInitializerError)`,
  },
  {
    cause: 'no-class-def-found',
    family: 'missing-class',
    tier: 1,
    namesClass: true,
    match: /java\.lang\.NoClassDefFoundError: ([\w.$/]+)/,
    subject: (m) => dotted(m[1]!),
    summary: (m) => `class ${dotted(m[1]!)} was there when the code was compiled but is missing at run time`,
  },
  {
    cause: 'class-not-found',
    family: 'missing-class',
    tier: 1,
    namesClass: true,
    match: /java\.lang\.ClassNotFoundException: ([\w.$/-]+)/,
    subject: (m) => dotted(m[1]!),
    summary: (m) => `class ${dotted(m[1]!)} is not on the classpath`,
  },
  {
    cause: 'no-such-method',
    family: 'linkage',
    tier: 1,
    namesClass: true,
    match: /java\.lang\.NoSuchMethodError: (.+)$/,
    subject: (m) => methodOwner(m[1]!),
    summary: (m) =>
      `method ${m[1]!.replace(/'/g, '').trim()} does not exist at run time: ${methodOwner(m[1]!) ?? 'its class'} comes from another version than the code was built against`,
  },
  {
    cause: 'linkage-error',
    family: 'linkage',
    tier: 1,
    namesClass: true,
    match: /java\.lang\.(NoSuchFieldError|AbstractMethodError|IncompatibleClassChangeError|IllegalAccessError): (.+)$/,
    subject: (m) => /(?:Class|class|interface) ([\w.$]+)/.exec(m[2]!)?.[1],
    summary: (m) => `${m[1]}: ${m[2]!.trim()} (a library on the classpath is another version than the code was built against)`,
  },
  {
    cause: 'db-connection-refused',
    family: 'connection-refused',
    tier: 1,
    match: /PSQLException: Connection to (\S+) refused/,
    subject: (m) => m[1],
    summary: (m) => `the PostgreSQL database at ${m[1]} refuses connections`,
  },
  {
    cause: 'db-connection-refused',
    family: 'connection-refused',
    tier: 1,
    match: /CommunicationsException: Communications link failure|Communications link failure/,
    summary: () => 'the MySQL database cannot be reached (Communications link failure)',
  },
  {
    cause: 'db-connection-refused',
    family: 'connection-refused',
    tier: 1,
    match: /The Network Adapter could not establish the connection/,
    summary: () => 'the Oracle database cannot be reached (the network adapter could not establish the connection)',
  },
  {
    cause: 'db-connection-refused',
    family: 'connection-refused',
    tier: 1,
    match: /The TCP\/IP connection to the host (\S+?), port (\d+) has failed/,
    subject: (m) => `${m[1]}:${m[2]}`,
    summary: (m) => `the SQL Server database at ${m[1]}:${m[2]} cannot be reached`,
  },
  {
    cause: 'db-connection-refused',
    family: 'connection-refused',
    tier: 1,
    match: /MongoSocketOpenException: Exception opening socket/,
    summary: () => 'the MongoDB server cannot be reached',
  },
  {
    cause: 'connection-refused',
    family: 'connection-refused',
    tier: 2,
    match: /RedisConnectionException: Unable to connect to (\S+)/,
    subject: (m) => m[1]!.replace(/^\/+/, ''),
    summary: (m) => `Redis at ${m[1]!.replace(/^\/+/, '')} cannot be reached`,
  },
  {
    cause: 'connection-refused',
    family: 'connection-refused',
    tier: 2,
    match: /java\.net\.ConnectException: Connection refused/,
    summary: () => 'a connection was refused: a service the app needs is not listening',
  },
  {
    cause: 'unknown-host',
    family: 'unknown-host',
    tier: 2,
    match: /java\.net\.UnknownHostException: ([^\s:]+)/,
    subject: (m) => m[1],
    summary: (m) => `the host name ${m[1]} does not resolve`,
  },
  {
    cause: 'spring-startup-failed',
    family: 'spring',
    tier: 2,
    match: /\bAPPLICATION FAILED TO START\b/,
    context: springFailureAnalysis,
    summary: (_m, context) => {
      const first = context.find((line) => !/^(Description|Action):$/.test(line));
      return `Spring Boot could not start${first ? `: ${first}` : ''}`;
    },
  },
  {
    cause: 'spring-startup-failed',
    family: 'spring',
    tier: 2,
    fallback: true,
    match: /Application run failed/,
    context: causeChain,
    summary: (_m, context) => `Spring Boot could not start${context.length ? `: ${innermost(context)}` : ''}`,
  },
  {
    cause: 'uncaught-exception',
    family: 'uncaught-exception',
    tier: 2,
    fallback: true,
    match: /Exception in thread "(.+?)" ([\w.$]+)(?::\s*(.*))?$/,
    subject: (m) => m[1],
    context: causeChain,
    summary: (m, context) => `thread "${m[1]}" died: ${context.length ? innermost(context) : `${m[2]}${m[3] ? `: ${m[3]}` : ''}`}`,
  },
];

function dotted(name: string): string {
  return name.replaceAll('/', '.');
}

// The root cause of a chain of `Caused by:` lines is the last one.
function innermost(causes: string[]): string {
  return causes[causes.length - 1]!.replace(/^Caused by: /, '');
}

/** `'void com.example.Greeter.hello(java.lang.String)'` → com.example.Greeter. */
function methodOwner(signature: string): string | undefined {
  const qualified = signature.replace(/'/g, '').split('(')[0]!.trim().split(/\s+/).pop() ?? '';
  const dot = qualified.lastIndexOf('.');
  return dot > 0 ? dotted(qualified.slice(0, dot)) : undefined;
}

// What each OutOfMemoryError message means, and where to look.
const MEMORY_KINDS: { match: RegExp; kind: string; says: string }[] = [
  { match: /Java heap space|GC overhead limit exceeded/, kind: 'heap', says: 'the JVM ran out of heap: raise -Xmx or look for a leak' },
  { match: /^Metaspace/, kind: 'metaspace', says: 'the JVM ran out of Metaspace, where class metadata lives' },
  { match: /Compressed class space/, kind: 'class-space', says: 'the JVM ran out of compressed class space' },
  { match: /direct buffer memory/i, kind: 'direct', says: 'the JVM ran out of direct buffer memory, see -XX:MaxDirectMemorySize' },
  { match: /unable to create (new )?native thread/, kind: 'threads', says: 'the JVM could not create a thread: too many threads for the memory or the process limit' },
];

function memoryKind(message: string): { kind: string; summary: string } {
  const said = `java.lang.OutOfMemoryError${message ? `: ${message.trim()}` : ''}`;
  const known = MEMORY_KINDS.find((k) => k.match.test(message));
  if (known) return { kind: known.kind, summary: `${known.says} (${said})` };
  return { kind: message.trim() || 'unknown', summary: `the JVM ran out of memory (${said})` };
}
