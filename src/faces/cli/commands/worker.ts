import { parseCommandArgs } from '../args.js';
import { runWorker } from '../../../agent/worker.js';
import { BACKEND_NAMES, type BackendName } from '../../../cover/backends/registry.js';
import { EXIT_OK, EXIT_USAGE } from '../output.js';
import { openApp, type CliCommand } from '../command.js';

export const workerCommand: CliCommand = {
  name: 'worker',
  usage: 'worker [--calls N] [--trainings N] [--backends comfyui,replicate,local] [--no-drafts] [--no-nightly]',
  summary: 'run the cluster queue (LORALOOP_QUEUE=pg-boss): queued calls, batch drafts on shared GPU slots, trainings, the nightly run',
  async run(args, io) {
    const p = parseCommandArgs(io, {
      args,
      options: {
        calls: { type: 'string', default: '4' },
        trainings: { type: 'string', default: '8' },
        backends: { type: 'string' },
        'no-drafts': { type: 'boolean', default: false },
        'no-nightly': { type: 'boolean', default: false },
      },
    });
    if (!p) return EXIT_USAGE;
    const calls = Number(p.values.calls);
    if (!Number.isInteger(calls) || calls < 1 || calls > 64) {
      io.stderr('error: --calls must be an integer in 1..64\n');
      return EXIT_USAGE;
    }
    const trainings = Number(p.values.trainings);
    if (!Number.isInteger(trainings) || trainings < 0 || trainings > 256) {
      io.stderr('error: --trainings must be an integer in 0..256 (trainings followed at once per backend; 0: none)\n');
      return EXIT_USAGE;
    }
    const backends = p.values.backends?.split(',').map((b) => b.trim());
    const unknown = backends?.filter((b) => !(BACKEND_NAMES as readonly string[]).includes(b));
    if (unknown?.length) {
      io.stderr(`error: --backends: unknown ${unknown.join(', ')} (use ${BACKEND_NAMES.join(', ')})\n`);
      return EXIT_USAGE;
    }
    const app = await openApp(io);
    const stopping = new AbortController();
    const stop = () => stopping.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      io.stderr('loraloop worker: taking work from the queue\n');
      await runWorker(app, {
        signal: stopping.signal,
        calls,
        trainings,
        drafts: !p.values['no-drafts'],
        nightly: !p.values['no-nightly'],
        ...(backends ? { backends: backends as BackendName[] } : {}),
      });
      io.stderr('loraloop worker: stopped\n');
      return EXIT_OK;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await app.close();
    }
  },
};
