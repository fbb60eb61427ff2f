import t, { type Test } from 'tap';
import { initialState, type AppState, type Phase } from '../src/app/machine.js';
import { followRegistration } from '../src/agent/follow.js';
import { Serving } from '../src/calls/serving.js';
import type { Call, Config } from '../src/config/schema.js';
import { createLog } from '../src/log.js';
import { OutOfTraffic } from '../src/prestop/out-of-traffic.js';
import type { Desired } from '../src/registry/backend.js';
import { Emitter } from '../src/toolbox/emitter.js';
import { Traffic } from '../src/traffic/traffic.js';
import { serveHttp } from './helpers/ports.js';
import { Changes, waitFor } from './helpers/wait.js';

// The choreography holds whatever the order in which its takers listen: online calls before the registration,
// offline calls before deregistration and before the app's stop letter. Every order of the four takers
// (the calls, the drain, the registration's follower, the operator's letters) runs the same story.

const log = createLog('silent');

/** The app as the traffic sees it: a phase that changes, and the letters it is given. */
class FakeApp {
  state: AppState = initialState(Date.now());
  private readonly changes = new Emitter<AppState>((err) => {
    throw err;
  });

  constructor(private readonly tell: (line: string) => void) {}

  onChange(listener: (state: AppState) => void): void {
    this.changes.listen(listener);
  }

  become(phase: Phase): void {
    this.state = { ...this.state, phase };
    this.changes.emit(this.state);
  }

  control(letter: string): void {
    this.tell(`app ${letter}`);
    if (letter === 'd') this.become('stopping');
  }
}

const call = (name: string, url: string): Call => ({ name, url, method: 'POST', headers: {}, headerFiles: {}, body: '', timeout: 2000 });

function configFor(gateway: string): Config {
  const prestop = { offline: { url: '', method: 'POST', timeout: 2000 }, drain: { url: '', timeout: 1000, interval: 100 }, wait: 0 };
  return { online: [call('gateway', `${gateway}/online`)], offline: [call('gateway', `${gateway}/offline`)], prestop } as unknown as Config;
}

const described = (d: Desired) => (d.present ? (d.down ? 'down' : 'up') : 'absent');

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

type Taker = 'calls' | 'drain' | 'registration' | 'letters';

/** The story of one pod; the gateway's `/online` answers `onlineAnswers` first, then 200. */
async function story(t: Test, order: Taker[], onlineAnswers: number[] = []): Promise<string[]> {
  const told: string[] = [];
  const changes = new Changes();
  const tell = (line: string): void => {
    told.push(line);
    changes.notify();
  };
  const gateway = await serveHttp(t, (req, res) => {
    res.statusCode = req.url === '/online' ? (onlineAnswers.shift() ?? 200) : 200;
    tell(`call ${req.url} ${res.statusCode}`);
    res.end();
  });
  const config = configFor(gateway);
  const app = new FakeApp(tell);
  const traffic = new Traffic({ onlineCalls: true, offlineCalls: true }, 'loading', log);
  const registration = { want: (d: Desired) => tell(`registry ${described(d)}`), settled: async () => true };
  let serving: Serving | undefined;
  let out: OutOfTraffic | undefined;
  const takers: Record<Taker, () => void> = {
    calls: () => (serving = new Serving(config, log, traffic)),
    drain: () => (out = new OutOfTraffic(config.prestop, () => registration, log, traffic, serving ?? { offlineCalls: config.offline, offlineDone: () => serving!.offlineDone() })),
    registration: () => followRegistration(traffic, registration),
    letters: () => traffic.onEffect((effect) => effect.type === 'letter' && app.control(effect.letter)),
  };
  for (const taker of order) takers[taker]();
  traffic.follow(app);

  app.become('starting');
  app.become('ready');
  await waitFor('registered', () => told.includes('registry up'), 5000, { changes });
  app.become('notReady');
  app.become('ready');
  traffic.dispatch({ type: 'letter', letter: 'd', at: Date.now() }); // `sv down app` in service
  await waitFor('the stop letter', () => told.includes('app d'), 5000, { changes });
  app.become('down');
  app.become('starting');
  app.become('ready');
  await waitFor('registered again', () => told.filter((l) => l === 'registry up').length === 3, 5000, { changes });
  await out!.start('prestop');
  return told;
}

t.test('every order of the takers tells the same story', async (t) => {
  const expected = [
    'registry absent', // the clients loaded: nothing held yet
    'call /online 200',
    'registry up',
    'registry down',
    'registry up',
    'call /offline 200',
    'app d',
    'registry absent',
    'call /online 200',
    'registry up',
    'call /offline 200',
    'registry absent',
  ];
  for (const order of permutations<Taker>(['calls', 'drain', 'registration', 'letters'])) {
    t.same(await story(t, order), expected, order.join(', '));
  }
});

t.test('an online call failing holds the registration until it is made again and succeeds', async (t) => {
  const told = await story(t, ['calls', 'drain', 'registration', 'letters'], [503]);
  t.same(told.slice(0, 4), ['registry absent', 'call /online 503', 'call /online 200', 'registry up']);
});
