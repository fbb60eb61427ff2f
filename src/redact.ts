// The one redaction every output goes through (logs, failure report, status, doctor, config): the
// app still gets the real values, nothing nile prints or keeps in runDir shows them. It is also where
// the app's text becomes nile's output, so control characters are shown escaped here, never obeyed.
import { StringDecoder } from 'node:string_decoder';
import { setFlagsFromString } from 'node:v8';
import type { Config } from './config/schema.js';

export const redacted = '***';

// Words in the names of options, variables, parameters and headers whose values are secrets.
const secretWords = 'pass|pwd|secret|token|credential|key|auth|cookie';
const secretName = new RegExp(secretWords, 'i');
// `scheme://user:password@host`, JDBC's `jdbc:mysql://…` included.
const urlPassword = /([a-z][a-z0-9+.:-]*:\/\/[^\s/:@]*):([^\s/@]*)@/gi;
// `scheme://token@host`: userinfo without a password is a token (a Sentry DSN, `https://ghp_…@github.com`).
const urlToken = /([a-z][a-z0-9+.:-]*:\/\/)([^\s/:@*]+)@/gi;
// Oracle's `jdbc:oracle:thin:user/password@host`.
const oracleThin = /(jdbc:oracle:[a-z]+:[^\s/@:]+)\/([^\s@]+)@/gi;
// `…?password=x&…`, `…;password=x;…`, `?api_key=x` (SQL Server, query strings).
const paramValue = new RegExp(`([?&;](?:[\\w.-]*(?:${secretWords})[\\w.-]*)=)([^&;\\s]*)`, 'gi');
// `Cookie: …`, `Authorization: Bearer …`, as a header line or a JSON field: the value to its end.
const headerValue = /\b((?:proxy-)?authorization|(?:set-)?cookie)(["']?\s*:\s*["']?)([^"'\r\n]+)/gi;
// `-Dname=value` and `--name=value` inside a line of text (a command line, an error message).
const optionInText = /(^|\s)(-D|--?)([\w.-]+)=(\S*)/g;
// `-Dname=value`, `--name=value` as one word of a command line: the value is the rest of the word, spaces too.
const optionArg = /^(-D|--?)([\w.-]+)=/;
// Control characters: ANSI/OSC escape sequences, carriage returns, bidi overrides. Tab and newline stay.
const controls = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// Longer words are no option or variable name a pattern is written for: linear time is still time.
const longestName = 256;
// The config's secret values shorter than this are blanked only where they stand as a secret's value.
const shortSecret = 8;

export interface Redactor {
  /** A line of text: URL userinfo, secret options and every known secret value blanked; control characters escaped. */
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

/**
 * A `secretPatterns` entry compiled for V8's linear-time engine, so no pattern and no line can make
 * PID 1 spin (`(a+)+$` on a long name backtracks for ever), or why it cannot be: backreferences and
 * lookarounds cannot run in linear time. That engine has no `i` flag: the pattern's letters and the
 * names it is matched against are both lower-cased.
 */
let linearEngineOn = false;
export function secretPattern(pattern: string): RegExp | string {
  if (!linearEngineOn) setFlagsFromString('--enable-experimental-regexp-engine');
  linearEngineOn = true;
  try {
    return new RegExp(lowerCased(pattern), 'l');
  } catch (err) {
    return /linear/.test((err as Error).message)
      ? 'cannot be matched in linear time (no backreferences, lookarounds or nested counted repeats)'
      : 'is not a regular expression';
  }
}

// The pattern's own letters lower-cased; escapes (`\D`, `\W`, `\p{Lu}`) kept as written.
function lowerCased(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '\\') {
      out += pattern[i]!.toLowerCase();
      continue;
    }
    const property = /^\\[pP]\{[^}]*\}/.exec(pattern.slice(i));
    const escape = property ? property[0] : pattern.slice(i, i + 2);
    out += escape;
    i += escape.length - 1;
  }
  return out;
}

interface Blanking {
  blank(value: string): string;
  blankArgs(list: readonly string[]): string[];
  blankEnv(map: Readonly<Record<string, string>>): Record<string, string>;
}

function makeRedactor(patterns: readonly string[], known: readonly string[]): Redactor {
  const { blank, blankArgs, blankEnv } = makeBlanking(patterns, known);
  const text = (value: string): string => visible(blank(value));
  const args = (list: readonly string[]): string[] => blankArgs(list).map(visible);
  const env = (map: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(blankEnv(map)).map(([k, v]) => [visible(k), visible(v)]));

  const value = <T>(v: T): T => {
    if (typeof v === 'string') return text(v) as T;
    if (Array.isArray(v)) return (v.every((x) => typeof x === 'string') ? args(v) : v.map(value)) as T;
    if (v && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)])) as T;
    return v;
  };

  return { text, args, env, value };
}

// Secrets blanked, the text otherwise as it was.
function makeBlanking(patterns: readonly string[], known: readonly string[]): Blanking {
  const extra = patterns.map(secretPattern).filter((p): p is RegExp => typeof p !== 'string');
  const isSecret = (name: string) =>
    secretName.test(name) || (extra.length > 0 && name.length <= longestName && extra.some((re) => re.test(name.toLowerCase())));
  const values = [...new Set(known)].filter((v) => v.length > 0);
  // A long value is blanked wherever it turns up: it rarely occurs by chance, so the blank tells little.
  // A short one (`DB_PASSWORD: java`) blanked everywhere would turn every `java` into *** and so tell
  // the reader the password; it is blanked only as the value of a secret-looking name
  // (`password=java`, `"password": "java"`, `-Dx.password=java`), where a short secret printed
  // on its own in free text stays: such a word cannot be told from any other.
  const long = values.filter((v) => v.length >= shortSecret).sort((a, b) => b.length - a.length);
  const short = values.filter((v) => v.length < shortSecret).sort((a, b) => b.length - a.length);
  const shortAfterName = short.length
    ? new RegExp(`(^|[^\\w.-])([\\w.-]+)(["']?\\s*[:=]\\s*["']?)(?:${short.map(escapeRegExp).join('|')})(?=$|[\\s"',;&])`, 'g')
    : null;

  const blank = (value: string): string => {
    let out = value;
    for (const v of long) if (out.includes(v)) out = out.split(v).join(redacted);
    out = out
      .replace(urlPassword, `$1:${redacted}@`)
      .replace(urlToken, `$1${redacted}@`)
      .replace(oracleThin, `$1/${redacted}@`)
      .replace(paramValue, `$1${redacted}`)
      .replace(headerValue, `$1$2${redacted}`)
      .replace(optionInText, (whole, lead, dash, name) => (isSecret(name) ? `${lead}${dash}${name}=${redacted}` : whole));
    if (shortAfterName) out = out.replace(shortAfterName, (whole, lead, name, sep) => (isSecret(name) ? `${lead}${name}${sep}${redacted}` : whole));
    return out;
  };

  const blankArgs = (list: readonly string[]): string[] =>
    list.map((arg, i) => {
      const previous = list[i - 1];
      // `--password value`: the value is the next word.
      if (previous && /^--?[\w.-]+$/.test(previous) && !arg.startsWith('-') && isSecret(previous)) return redacted;
      const option = optionArg.exec(arg);
      if (option && isSecret(option[2]!)) return `${option[0]}${redacted}`;
      return blank(arg);
    });

  const blankEnv = (map: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(map).map(([k, v]) => [k, isSecret(k) ? redacted : blank(v)]));

  return { blank, blankArgs, blankEnv };
}

/** `\x1b[31m` shown as the text `\x1b[31m`: the app's escape sequences reach no terminal. */
export function visible(text: string): string {
  return text.replace(controls, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The secret values the config holds, to be blanked wherever they turn up (an app's error line, a log). */
function collectSecrets({ app }: Pick<Config, 'app'>): string[] {
  const probe = makeBlanking(app.secretPatterns ?? [], []);
  const found: string[] = [];
  const keep = (original: string, blanked: string) => {
    if (blanked !== original) found.push(...blankedParts(original, blanked));
  };
  for (const list of [app.command ?? [], app.javaOpts ?? [], app.args ?? []]) {
    const blanked = probe.blankArgs(list);
    list.forEach((arg, i) => keep(arg, blanked[i]!));
  }
  const env = probe.blankEnv(app.env ?? {});
  for (const [k, v] of Object.entries(app.env ?? {})) keep(v, env[k]!);
  return found;
}

// What each *** stands for: the text between the pieces the blanking left, found in order.
function blankedParts(original: string, blanked: string): string[] {
  const pieces = blanked.split(redacted);
  const parts: string[] = [];
  let at = pieces[0]!.length;
  for (const piece of pieces.slice(1)) {
    const end = piece === '' ? original.length : original.indexOf(piece, at + 1);
    if (end < 0) break;
    parts.push(original.slice(at, end));
    at = end + piece.length;
  }
  return parts;
}

// A line's first characters are redacted with this many after them, so a secret that starts before a
// cut is still whole: no string the config holds is longer (src/config/load.ts refuses them).
const cutContext = 4096;

/**
 * Redacts text that arrives in chunks, a line at a time: a secret split across chunks is whole in its
 * line. A line over maxLine characters is cut there; the rest of it is neither kept nor shown.
 */
export function redactLines(redact: Redactor, maxLine: number): { write(chunk: Buffer): string; end(): string } {
  const decoder = new StringDecoder('utf8');
  let line = ''; // the line so far, at most maxLine + cutContext characters of it
  let length = 0; // the whole line's
  const done = (): string => {
    const shown = length > maxLine ? `${redact.text(line).slice(0, maxLine)} … [${length - maxLine} more characters not kept]` : redact.text(line);
    line = '';
    length = 0;
    return shown;
  };
  const take = (text: string): string => {
    const parts = text.split('\n');
    let out = '';
    parts.forEach((part, i) => {
      length += part.length;
      if (line.length < maxLine + cutContext) line += part.slice(0, maxLine + cutContext - line.length);
      if (i < parts.length - 1) out += `${done()}\n`;
    });
    return out;
  };
  return {
    write: (chunk) => take(decoder.write(chunk)),
    end: () => {
      const out = take(decoder.end());
      return length > 0 ? out + done() : out;
    },
  };
}
