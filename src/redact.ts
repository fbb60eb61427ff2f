// The one redaction every output goes through (logs, failure report, status, doctor, config): the
// app still gets the real values, nothing nile prints or keeps in runDir shows them.
import type { Config } from './config/schema.js';

export const redacted = '***';

// Names of options and variables whose values are secrets.
const secretName = /pass|pwd|secret|token|credential|key|auth/i;
// `scheme://user:password@host`, JDBC's `jdbc:mysql://…` included.
const urlUserinfo = /([a-z][a-z0-9+.:-]*:\/\/[^\s/:@]*):([^\s/@]*)@/gi;
// Oracle's `jdbc:oracle:thin:user/password@host`.
const oracleThin = /(jdbc:oracle:[a-z]+:[^\s/@:]+)\/([^\s@]+)@/gi;
// `…?password=x&…`, `…;password=x;…` (SQL Server, query strings).
const paramValue = /([?&;](?:[\w.-]*(?:pass|pwd|secret|token|credential|auth)[\w.-]*)=)([^&;\s]*)/gi;
// `-Dname=value` and `--name=value` inside a line of text (a command line, an error message).
const optionInText = /(^|\s)(-D|--?)([\w.-]+)=(\S*)/g;

export interface Redactor {
  /** A line of text: URL userinfo, secret options and every known secret value blanked. */
  text(value: string): string;
  /** A command line: secret options' values (`-Dx.password=…`, `--token=…`, `--password …`) blanked. */
  args(list: readonly string[]): string[];
  /** A map of environment variables: values of secret-looking names blanked, URLs redacted. */
  env(map: Readonly<Record<string, string>>): Record<string, string>;
  /** Any JSON-able value, deeply: lists of strings as command lines, other strings as text. */
  value<T>(value: T): T;
}

/** The redactor for one config; the same object for every caller with that config. */
export function redactorFor(config: Pick<Config, 'app'> | null): Redactor {
  if (!config) return makeRedactor([], []);
  let r = cache.get(config);
  if (!r) cache.set(config, (r = makeRedactor(config.app.secretPatterns ?? [], collectSecrets(config))));
  return r;
}

const cache = new WeakMap<object, Redactor>();

function makeRedactor(patterns: readonly string[], known: readonly string[]): Redactor {
  const extra = patterns.map((p) => new RegExp(p, 'i'));
  const isSecret = (name: string) => secretName.test(name) || extra.some((re) => re.test(name));
  // Longest first, so a secret that contains another is blanked whole.
  const values = [...new Set(known)].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);

  const text = (value: string): string => {
    let out = value
      .replace(urlUserinfo, `$1:${redacted}@`)
      .replace(oracleThin, `$1/${redacted}@`)
      .replace(paramValue, `$1${redacted}`)
      .replace(optionInText, (whole, lead, dash, name) => (isSecret(name) ? `${lead}${dash}${name}=${redacted}` : whole));
    for (const v of values) if (out.includes(v)) out = out.split(v).join(redacted);
    return out;
  };

  const args = (list: readonly string[]): string[] =>
    list.map((arg, i) => {
      const previous = list[i - 1];
      // `--password value`: the value is the next word.
      if (previous && /^--?[\w.-]+$/.test(previous) && !arg.startsWith('-') && isSecret(previous)) return redacted;
      return text(arg);
    });

  const env = (map: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(map).map(([k, v]) => [k, isSecret(k) ? redacted : text(v)]));

  const value = <T>(v: T): T => {
    if (typeof v === 'string') return text(v) as T;
    if (Array.isArray(v)) return (v.every((x) => typeof x === 'string') ? args(v) : v.map(value)) as T;
    if (v && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)])) as T;
    return v;
  };

  return { text, args, env, value };
}

/** The secret values the config holds, to be blanked wherever they turn up (an app's error line, a log). */
function collectSecrets({ app }: Pick<Config, 'app'>): string[] {
  const probe = makeRedactor(app.secretPatterns ?? [], []);
  const found: string[] = [];
  const keep = (original: string, blanked: string) => {
    if (blanked === original) return;
    if (blanked === redacted) found.push(original);
    else found.push(/:\/\/[^\s/:@]*:([^\s/@]+)@/.exec(original)?.[1] ?? original.slice(original.indexOf('=') + 1));
  };
  for (const list of [app.command ?? [], app.javaOpts ?? [], app.args ?? []]) {
    const blanked = probe.args(list);
    list.forEach((arg, i) => keep(arg, blanked[i]));
  }
  const env = probe.env(app.env ?? {});
  for (const [k, v] of Object.entries(app.env ?? {})) keep(v, env[k]);
  return found;
}
