#!/usr/bin/env node
/**
 * The only place that reads argv and env and may exit. Everything else gets them injected.
 */
import { runCli } from './faces/cli/run.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const code = await runCli(process.argv.slice(2), {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  isTty: Boolean(process.stderr.isTTY),
  env: process.env,
  cwd: process.cwd(),
  readStdin,
});
// Let stdout drain before exiting so piped --json output is never cut.
process.stdout.write('', () => process.exit(code));
