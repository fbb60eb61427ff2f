// The one description of nile.yaml: it drives validation, environment overrides, defaults and printing.

export type Spec =
  | { t: 'string'; def?: string; url?: boolean; path?: boolean; lines?: boolean; address?: boolean }
  | { t: 'int'; def?: number; min?: number; max?: number }
  | { t: 'bool'; def?: boolean }
  | { t: 'duration'; def?: string }
  | { t: 'enum'; values: readonly string[]; def?: string }
  | { t: 'list'; def?: string[] }
  | { t: 'map'; def?: Record<string, string> }
  | { t: 'percent'; def?: string }
  | { t: 'object'; fields: Record<string, Spec> }
  | { t: 'items'; fields: Record<string, Spec> }; // a list of mappings, each with these fields

// Each helper keeps its literal kind, so that `Config` below is derived from the schema itself.
const str = (def?: string, url = false) => ({ t: 'string' as const, def, url });
// Strings are one line without control characters, except text that may span lines (a call's body).
const text = (def?: string) => ({ t: 'string' as const, def, lines: true });
// A host name or IP address, written as is into a generated file (sshd_config's ListenAddress).
const address = (def?: string) => ({ t: 'string' as const, def, address: true });
const urlPath = (def: string) => ({ t: 'string' as const, def, path: true });
const int = (def?: number, min = 0, max = 65535) => ({ t: 'int' as const, def, min, max });
const bool = (def?: boolean) => ({ t: 'bool' as const, def });
const dur = (def?: string) => ({ t: 'duration' as const, def });
const oneOf = <const V extends readonly string[]>(values: V, def?: V[number]) => ({ t: 'enum' as const, values, def });
const list = (def?: string[]) => ({ t: 'list' as const, def });
const map = () => ({ t: 'map' as const, def: {} as Record<string, string> });
const obj = <F extends Record<string, Spec>>(fields: F) => ({ t: 'object' as const, fields });
const items = <F extends Record<string, Spec>>(fields: F) => ({ t: 'items' as const, fields });
const percent = (def?: string) => ({ t: 'percent' as const, def });

const httpMethods = ['GET', 'POST', 'PUT', 'DELETE'] as const;
// One online or offline call; headerFiles: header name → a file holding its value (a token), read at each call.
const call = items({ name: str(), url: str(undefined, true), method: oneOf(httpMethods, 'POST'), headers: map(), headerFiles: map(), body: text(''), timeout: dur('5s') });

export const projectTypes = ['web', 'rpc', 'worker'] as const;
export const stopSignalNames = ['TERM', 'INT', 'HUP', 'QUIT', 'USR1', 'USR2', 'KILL'] as const;

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
    stopSignal: oneOf(stopSignalNames, 'TERM'),
    restart: oneOf(['always', 'never'], 'always'),
    heapDumpPath: str(''),
    logFiles: list([]),
    secretPatterns: list([]), // regular expressions: option and variable names whose values are redacted
  }),
  probe: obj({
    http: obj({ enabled: bool(), port: int(8080, 1), path: urlPath('/healthcheck'), timeout: dur('1s') }),
    tcp: obj({ enabled: bool(), port: int(9000, 1), timeout: dur('1s') }),
    interval: dur('2s'),
    serve: obj({ port: int(0, 0), listen: str('0.0.0.0') }), // GET /ready for the kubelet's httpGet probe when port > 0
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
  sshd: obj({ enabled: bool(false), port: int(2222, 1), listen: address('0.0.0.0'), authorizedKeysFile: str('/etc/nile/authorized_keys') }),
  services: str(''), // a folder of runit service directories; none by default
  runDir: str('/run/nile'),
  metrics: obj({ port: int(0, 0), listen: str('0.0.0.0') }),
  memory: obj({ warnAt: percent('90%') }),
});

export type ProjectType = (typeof projectTypes)[number];

/** The value a leaf or branch of the schema takes: durations are milliseconds, a percent a share (0.9 for 90%). */
type ValueOf<S> = S extends { t: 'string' }
  ? string
  : S extends { t: 'int' | 'duration' | 'percent' }
    ? number
    : S extends { t: 'bool' }
      ? boolean
      : S extends { t: 'enum'; values: readonly (infer V)[] }
        ? V
        : S extends { t: 'list' }
          ? string[]
          : S extends { t: 'map' }
            ? Record<string, string>
            : S extends { t: 'object'; fields: infer F }
              ? { [K in keyof F]: ValueOf<F[K]> }
              : S extends { t: 'items'; fields: infer F }
                ? Array<{ [K in keyof F]: ValueOf<F[K]> }>
                : never;

/** The effective configuration, as the schema describes it. */
export type Config = ValueOf<typeof schema>;

/** One online or offline call to the gateway or the RPC framework. */
export type Call = Config['online'][number];
