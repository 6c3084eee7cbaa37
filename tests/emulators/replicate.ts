/**
 * A local Replicate: a node:http server on 127.0.0.1 that follows CONTRACTS.md §2 (auth, files, models,
 * trainings, predictions, webhooks, problem+json errors, pagination), so tests run the official `replicate`
 * client against it. Jobs move starting -> processing -> succeeded|failed|aborted (or canceled) by polls,
 * by a clock, or by hand; training logs grow with real-format ai-toolkit tqdm lines; a successful training
 * serves a real .tar holding `output/flux_train_replicate/lora.safetensors`; predictions serve real PNGs.
 * Faults (429 + Retry-After, 500, slow, cut connection) can be queued for the next requests.
 *
 * Everything it does is recorded in `state` for assertions. This file is the HTTP front; the world (clock,
 * models, jobs, webhooks) is in replicate/state.ts, the API in replicate/routes.ts, queued faults in
 * replicate/faults.ts, types in replicate/types.ts, replies, log lines, tars and trainer validation in
 * replicate/wire.ts, the published model schemas in replicate-schemas.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFaultQueue, faultReply } from './replicate/faults.js';
import { createRoutes } from './replicate/routes.js';
import { createReplicateWorld } from './replicate/state.js';
import type { ReplicateEmulator, ReplicateEmulatorOptions, RequestLogEntry } from './replicate/types.js';
import { DEFAULT_EMULATOR_TOKEN, MAX_JSON_BYTES, errorText, problem, type Body, type Reply } from './replicate/wire.js';

export type * from './replicate/types.js';
export { buildTar, DEFAULT_EMULATOR_TOKEN, FLUX_TRAINER_NAME, FLUX_TRAINER_OWNER, FLUX_TRAINER_VERSION, tqdmLine } from './replicate/wire.js';

function readBody(req: IncomingMessage, cap: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let overflow = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Keep draining past the cap so the client can read our 413 instead of a reset.
      if (size > cap) overflow = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve({ bytes: Buffer.concat(chunks), overflow }));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  res.writeHead(reply.status, reply.headers ?? {});
  res.end(reply.body);
}

export async function startReplicateEmulator(options: ReplicateEmulatorOptions = {}): Promise<ReplicateEmulator> {
  const token = options.token ?? DEFAULT_EMULATOR_TOKEN;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const world = createReplicateWorld(options, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const { state, maxFileBytes } = world;
  const routes = createRoutes(world);
  const faults = createFaultQueue();

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers['authorization'] ?? '';
    const m = /^(Bearer|Token)\s+(.+)$/i.exec(h);
    return m?.[2]?.trim() === token;
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: RequestLogEntry = { method, path: url.pathname, query: url.search, at: Date.now(), status: 0, authorized: false };
    state.requests.push(entry);
    const handle = async (): Promise<void> => {
      if (url.pathname.startsWith('/delivery/') && method === 'GET') {
        const reply = await routes.serveDelivery(url.pathname);
        entry.status = reply.status;
        send(res, reply);
        return;
      }
      const fault = faults.take(method, url.pathname);
      if (fault) entry.fault = fault.kind;
      if (fault?.kind === 'drop') {
        entry.status = 'dropped';
        req.socket.destroy();
        return;
      }
      // Read the whole body first, as a real front end does before it rate-limits, stalls or handles.
      const raw = await readBody(req, url.pathname === '/v1/files' ? maxFileBytes + 64 * 1024 : MAX_JSON_BYTES);
      const refused = fault && faultReply(fault);
      if (refused) {
        entry.status = refused.status;
        send(res, refused);
        return;
      }
      if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs ?? 200));
      entry.authorized = authorized(req);
      let reply: Reply;
      if (!url.pathname.startsWith('/v1/')) {
        reply = problem(404, 'Not found', `No route for ${method} ${url.pathname}.`);
      } else if (!entry.authorized) {
        reply = problem(401, 'Unauthenticated', 'You did not pass a valid authentication token');
      } else {
        reply = await routes.route(req, url, raw);
      }
      if (fault?.kind === 'cut') {
        // The work is done (a training exists) but the client never hears about it.
        entry.status = 'cut';
        req.socket.destroy();
        return;
      }
      entry.status = reply.status;
      // The answer reflects the state at handling time but arrives late, as over a slow network.
      if (fault?.kind === 'late') await new Promise((r) => setTimeout(r, fault.delayMs ?? 200));
      send(res, reply);
    };
    handle().catch((e: unknown) => {
      entry.status = 500;
      if (!res.headersSent) send(res, problem(500, 'Internal Server Error', `Emulator error: ${errorText(e)}`));
    });
  });

  return {
    url: world.base,
    origin: world.origin,
    token,
    account: world.account,
    webhookSecret: world.webhookSecret,
    state,
    faults: faults.controller,
    plan: world.plan,
    step: world.step,
    advance: world.advance,
    now: world.now,
    webhooksIdle: world.webhooksIdle,
    close: async () => {
      await world.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
