/**
 * Child process for the multi-process store tests: writes N blob+record pairs to the store in LORALOOP_HOME.
 * With SLOW_BLOB=1 it writes one big blob slowly so the parent can SIGKILL it mid-write.
 */
import { createStore } from '../../src/store/index.js';

const home = process.argv[2]!;
const n = Number(process.argv[3] ?? '500');
const tag = process.argv[4] ?? 'w';
// The PostgreSQL parity run hands the test's database down (tests/support/database.ts).
const store = createStore(home, undefined, { databaseUrl: process.env.LORALOOP_DATABASE_URL });
if (process.env.SLOW_BLOB === '1') {
  // Many large distinct blobs: the parent kills us at some random point inside this loop.
  process.stdout.write('ready\n');
  for (let i = 0; ; i++) {
    const bytes = Buffer.alloc(8 * 1024 * 1024, (i * 7 + tag.length) % 251);
    bytes.writeUInt32LE(i, 0);
    bytes.write(tag, 4);
    const blob = await store.blobs.put(bytes, 'bin');
    await store.covers.insert(fakeCover(`${tag}-${i}`, blob.sha256, blob.path));
  }
}
for (let i = 0; i < n; i++) {
  const blob = await store.blobs.put(Buffer.from(`${tag}-${i}`), 'txt');
  await store.covers.insert(fakeCover(`${tag}-${i}`, blob.sha256, blob.path));
}
await store.close();
process.stdout.write('done\n');

function fakeCover(title: string, sha: string, path: string) {
  return {
    title,
    subtitle: null,
    coins: [],
    primary_symbol: null,
    lora: null,
    seed: 1,
    width: 1,
    height: 1,
    style: null,
    palette: { colors: ['#000000'], scheme: 'test' },
    logo: null,
    text_box: null,
    backend: 'test',
    checkpoint: null,
    loras: [],
    batch_id: null,
    blob_sha256: sha,
    blob_path: path,
    meta: {},
  };
}
