/**
 * A loraloop process for the SIGKILL test: `train` queues a training with lora_train and follows it with the
 * runner until it is killed; `follow` starts a runner on the same home and waits for the job to end, then
 * prints the outcome. Configuration comes from the environment, exactly as src/main.ts would pass it.
 */
import { createApp } from '../../../src/app.js';
import { allTools } from '../../../src/all-tools.js';
import { loadConfig } from '../../../src/core/config.js';
import { createLogger } from '../../../src/core/logger.js';
import { getTrainingJob, isTerminalTraining } from '../../../src/lora/training/job.js';

const mode = process.argv[2];
const config = loadConfig(process.env, process.cwd());
const app = createApp(config, allTools(), {
  logger: createLogger({ level: process.env['LORALOOP_TEST_LOGS'] ? 'debug' : 'silent' }),
  trainingOptions: { pollIntervalMs: 50, leaseTtlMs: 1500, scanIntervalMs: 200 },
});
const runner = app.services.trainingRunner();

async function main(): Promise<void> {
  if (mode === 'train') {
    const input = JSON.parse(process.env['CHILD_TRAIN_INPUT'] ?? '{}') as Record<string, unknown>;
    const r = await app.tools.execute('lora_train', input, app.context('cli'));
    if (!r.success) {
      process.stdout.write(`ERROR ${r.reasoning}\n`);
      process.exit(1);
    }
    process.stdout.write(`JOB ${(r.data as { job_id: string }).job_id}\n`);
    runner.start();
    setInterval(() => {}, 1000); // stay alive until killed
    return;
  }
  const jobId = process.env['CHILD_JOB_ID'] ?? '';
  runner.start();
  for (;;) {
    const job = await getTrainingJob(app.services, jobId);
    if (job && isTerminalTraining(job.status)) {
      process.stdout.write(`DONE ${JSON.stringify({ status: job.status, error: job.error, version: job.state.version, remote_id: job.remote_id, attempt: job.state.kohya?.attempt ?? null })}\n`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await app.close();
}

void main();
