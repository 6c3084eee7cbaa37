import { parseCommandArgs } from '../args.js';
import { startSchedule } from '../../../agent/schedule.js';
import { runWorker } from '../../../agent/worker.js';
import { EXIT_OK, EXIT_USAGE } from '../output.js';
import { openApp, type CliCommand } from '../command.js';

export const daemonCommand: CliCommand = {
  name: 'daemon',
  usage: 'daemon',
  summary: 'follow training jobs and run the nightly improvement on LORALOOP_IMPROVE_CRON (default 3 am)',
  async run(args, io) {
    if (!parseCommandArgs(io, { args, options: {} })) return EXIT_USAGE;
    const app = await openApp(io);
    const s = app.services;
    const logger = s.logger.child({ face: 'daemon' });
    const stopping = new AbortController();
    if (s.queue) {
      // In a cluster the nightly run is a pg-boss schedule that fires once for the whole cluster, and trainings
      // are queue jobs: the daemon is a worker that takes no calls and runs no drafts.
      const stop = () => stopping.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        io.stderr(`loraloop daemon: cluster queue in use; nightly run on "${s.config.improveCron}" once per cluster, trainings followed from the queue\n`);
        await runWorker(app, { signal: stopping.signal, calls: 0, drafts: false });
        return EXIT_OK;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await app.close();
      }
    }
    let current: Promise<unknown> | undefined;
    try {
      // Training jobs outlive the processes that queued them: the daemon follows every unfinished one.
      s.trainingRunner().start();
      const schedule = startSchedule({
        cron: s.config.improveCron,
        timezone: s.config.improveTimezone,
        logger,
        task: async () => {
          logger.info('nightly run starting');
          const run = app.tools.execute('improve_run', {}, app.context({ face: 'nightly', signal: stopping.signal, logger: logger.child({ tool: 'improve_run' }) }));
          current = run;
          const r = await run;
          if (r.success) logger.info('nightly run finished', { reasoning: r.reasoning });
          else logger.warn('nightly run did not complete', { reasoning: r.reasoning });
          logger.info('next nightly run', { at: schedule.next()?.toISOString() ?? null });
        },
      });
      io.stderr(`loraloop daemon: following training jobs; nightly run on "${s.config.improveCron}", next at ${schedule.next()?.toISOString() ?? 'never'}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      io.stderr('loraloop daemon: stopping\n');
      schedule.stop();
      // A run in progress stops at its next step; its steps are saved and the next run continues it.
      stopping.abort();
      await current?.catch(() => undefined);
      return EXIT_OK;
    } finally {
      await app.close();
    }
  },
};
