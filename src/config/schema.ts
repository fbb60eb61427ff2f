// The one description of nile.yaml: it drives validation, environment overrides, defaults and printing.

export type Spec =
  | { t: 'string'; def?: string; url?: boolean; path?: boolean }
  | { t: 'int'; def?: number; min?: number; max?: number }
  | { t: 'bool'; def?: boolean }
  | { t: 'duration'; def?: string }
  | { t: 'enum'; values: readonly string[]; def?: string }
  | { t: 'list'; def?: string[] }
  | { t: 'map'; def?: Record<string, string> }
  | { t: 'percent'; def?: string }
  | { t: 'object'; fields: Record<string, Spec> }
  | { t: 'items'; fields: Record<string, Spec> }; // a list of mappings, each with these fields

const str = (def?: string, url = false): Spec => ({ t: 'string', def, url });
const urlPath = (def: string): Spec => ({ t: 'string', def, path: true });
const int = (def?: number, min = 0, max = 65535): Spec => ({ t: 'int', def, min, max });
const bool = (def?: boolean): Spec => ({ t: 'bool', def });
const dur = (def?: string): Spec => ({ t: 'duration', def });
const oneOf = (values: readonly string[], def?: string): Spec => ({ t: 'enum', values, def });
const list = (def?: string[]): Spec => ({ t: 'list', def });
const map = (): Spec => ({ t: 'map', def: {} });
const obj = (fields: Record<string, Spec>): Spec => ({ t: 'object', fields });
const items = (fields: Record<string, Spec>): Spec => ({ t: 'items', fields });
const percent = (def?: string): Spec => ({ t: 'percent', def });

const httpMethods = ['GET', 'POST', 'PUT', 'DELETE'] as const;
// One online or offline call; headerFiles: header name → a file holding its value (a token), read at each call.
const call = items({ name: str(), url: str(undefined, true), method: oneOf(httpMethods, 'POST'), headers: map(), headerFiles: map(), body: str(''), timeout: dur('5s') });

export const projectTypes = ['web', 'rpc', 'worker'] as const;
export const signalNames = ['TERM', 'INT', 'HUP', 'QUIT', 'USR1', 'USR2', 'KILL'] as const;

export const schema = obj({
  project: str(),
  type: oneOf(projectTypes, 'web'),
  app: obj({
    command: list(),
    jar: str(),
    javaOpts: list([]),
    args: list([]),
    workdir: str('/app'),
    user: str(''),
    env: map(),
    startTimeout: dur('5m'),
    stopTimeout: dur('30s'),
    stopSignal: oneOf(signalNames, 'TERM'),
    restart: oneOf(['always', 'never'], 'always'),
    heapDumpPath: str(''),
    logFiles: list([]),
    secretPatterns: list([]), // regular expressions: option and variable names whose values are redacted
  }),
  probe: obj({
    http: obj({ enabled: bool(), port: int(8080, 1), path: urlPath('/healthcheck'), timeout: dur('1s') }),
    tcp: obj({ enabled: bool(), port: int(9000, 1), timeout: dur('1s') }),
    interval: dur('2s'),
  }),
  registry: obj({
    address: str(''),
    port: int(undefined, 1),
    upstream: str(''),
    weight: int(1, 1, 1000),
    maxFails: int(2, 0, 1000),
    failTimeout: int(10, 0, 3600),
    zookeeper: obj({ connect: str(''), root: str('/nginx/upstreams'), sessionTimeout: dur('10s'), digestFile: str('') }),
    consul: obj({ url: str('', true), mode: oneOf(['kv', 'service'], 'kv'), prefix: str('upstreams'), ttl: dur('15s'), tokenFile: str('') }),
  }),
  online: call,
  offline: call,
  prestop: obj({
    offline: obj({ url: str('', true), method: oneOf(httpMethods, 'POST'), timeout: dur('5s') }),
    drain: obj({ url: str('', true), timeout: dur('60s'), interval: dur('1s') }),
    wait: dur('10s'),
  }),
  sshd: obj({ enabled: bool(false), port: int(2222, 1), listen: str('0.0.0.0'), authorizedKeysFile: str('/etc/nile/authorized_keys') }),
  services: str(''), // a folder of runit service directories; none by default
  runDir: str('/run/nile'),
  metrics: obj({ port: int(0, 0), listen: str('0.0.0.0') }),
  memory: obj({ warnAt: percent('90%') }),
});

export type ProjectType = (typeof projectTypes)[number];
export type SignalName = (typeof signalNames)[number];

/** The effective configuration; durations are milliseconds. */
export interface Config {
  project: string;
  type: ProjectType;
  app: {
    command: string[];
    jar: string;
    javaOpts: string[];
    args: string[];
    workdir: string;
    user: string;
    env: Record<string, string>;
    startTimeout: number;
    stopTimeout: number;
    stopSignal: SignalName;
    restart: 'always' | 'never';
    heapDumpPath: string;
    logFiles: string[];
    secretPatterns: string[];
  };
  probe: {
    http: { enabled: boolean; port: number; path: string; timeout: number };
    tcp: { enabled: boolean; port: number; timeout: number };
    interval: number;
  };
  registry: {
    address: string;
    port: number;
    upstream: string;
    weight: number;
    maxFails: number;
    failTimeout: number;
    zookeeper: { connect: string; root: string; sessionTimeout: number; digestFile: string };
    consul: { url: string; mode: 'kv' | 'service'; prefix: string; ttl: number; tokenFile: string };
  };
  online: Call[];
  offline: Call[];
  prestop: {
    offline: { url: string; method: string; timeout: number };
    drain: { url: string; timeout: number; interval: number };
    wait: number;
  };
  sshd: { enabled: boolean; port: number; listen: string; authorizedKeysFile: string };
  services: string;
  runDir: string;
  metrics: { port: number; listen: string };
  memory: { warnAt: number }; // a share of the limit, 0.9 for 90%
}

/** One online or offline call to the gateway or the RPC framework. */
export interface Call {
  name: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  headerFiles: Record<string, string>;
  body: string;
  timeout: number;
}
