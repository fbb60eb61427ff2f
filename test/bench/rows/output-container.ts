// The output row in the built image under runc, on the image's Node and addon: each way runs in the
// example container by `runc exec` (its cgroup, namespaces, capabilities and seccomp filter), its
// stdout passed through runc to the same sink on the host. nile's way is a second `nile run` over the
// app, in the container beside its PID 1: the relay is the image's, the reader the same as for `| cat`.

import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { Container, builtImage, exampleNileConfig, runcRoot } from '../../oci/runc.js';
import type { Context } from '../context.js';
import { emptyServices, writePid1Config } from '../pid1.js';
import { removeScratchDir, scratchDir } from '../processes.js';
import type { Row } from '../report.js';
import { descendants, killAll, measureOutput, middleProgram, type OutputPlace, outputRowsOf, programOf } from './output.js';

const inside = '/bench'; // an emptyDir of the pod, on tmpfs

export async function outputContainerRows(ctx: Context): Promise<Row[]> {
  const image = builtImage();
  const outside = scratchDir('/dev/shm/nile-bench-');
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  const c = new Container({ name: 'bench-output', nile, volumes: { [inside]: outside } });
  try {
    await c.started();
    copyFileSync(ctx.natives.stamp, path.join(outside, 'stamp'));
    emptyServices(outside);
    writePid1Config(outside, { services: `${inside}/no-services`, app: { workdir: inside, restart: 'never', stopTimeout: '5s' }, runDir: `${inside}/run` });
    const place: OutputPlace = {
      inside,
      outside,
      stamp: `${inside}/stamp`,
      launch: (way, command, config) => ['runc', '--root', runcRoot, 'exec', c.id, ...(way === 'nile' ? ['nile', 'run', '--config', config, '--'] : []), ...command],
      middle: (way, launched) => descendants(launched).find((pid) => programOf(pid) === middleProgram[way]),
      end: async (launched) => killAll([...descendants(launched), launched]),
    };
    const measured = await measureOutput(ctx, place, `${inside}/nile.yaml`);
    return outputRowsOf(measured, `in the container (runc exec, Node ${image.node}), reading from and counting into tmpfs`, 'app stdout passed through in the container, MB/s');
  } finally {
    await c.remove();
    removeScratchDir(outside);
  }
}
