// Loaded into every test process (package.json, tap's node-arg), after the test runner's own preloads.
//
// The runner records each Node process for coverage: it puts its process-info hook in NODE_OPTIONS
// and, through process-on-spawn, back into the env of every child a test starts, whatever env the
// test gave it. Coverage is off here, so the hook records nothing anyone reads, and it costs each
// Node child ~190 ms of CPU (a loader thread and a file written at exit): nile's agent, `nile probe`
// and every other Node a test runs would be a slower program than the one shipped, and another
// user's run of it fails to write the runner's files. The processes under test run as they run in
// a pod: without it. The test process itself keeps it.
import processOnSpawn from 'process-on-spawn';

processOnSpawn.removeAllListeners();

const options = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((option) => option !== '' && !option.includes('@tapjs/processinfo'));
if (options.length === 0) delete process.env.NODE_OPTIONS;
else process.env.NODE_OPTIONS = options.join(' ');
