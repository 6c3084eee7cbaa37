/**
 * Child process for the store race tests: opens its own store on the home given, says `ready`, then runs each
 * command line the parent sends (all children get the same line at the same moment) and prints one JSON answer.
 */
import { createInterface } from 'node:readline';
import { createStore } from '../../src/store/index.js';

const home = process.argv[2]!;
const owner = `pid-${process.pid}`;
// The PostgreSQL parity run hands the test's database down (tests/support/database.ts).
const store = createStore(home, undefined, { databaseUrl: process.env.LORALOOP_DATABASE_URL });
await store.kv.get('opened'); // opens the file and applies migrations before the race starts
process.stdout.write('ready\n');

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg, n] = line.split(' ');
  if (cmd === 'claim') {
    const job = await store.jobs.claim(arg!, owner, 60_000);
    const lease = await store.leases.acquire(`lease-${arg}`, owner, 60_000);
    process.stdout.write(`${JSON.stringify({ owner, job, lease })}\n`);
  } else if (cmd === 'versions') {
    const made: number[] = [];
    for (let i = 0; i < Number(n); i++) {
      const v = await store.loras.addVersion({
        lora_id: arg!,
        status: 'candidate',
        file_sha256: null,
        file_path: null,
        file_bytes: null,
        inspection: null,
        params: { owner },
        job_id: null,
        backend: 'import',
        remote_version: null,
        weights_url: null,
      });
      made.push(v.version);
    }
    process.stdout.write(`${JSON.stringify({ owner, made })}\n`);
  } else break;
}
await store.close();
