/**
 * A local ComfyUI server for tests and benchmarks, written from CONTRACTS.md §1 (ComfyUI 0.3.64).
 *
 * It validates workflows like `execution.py` `validate_prompt` (same error types, messages and details
 * format), runs one prompt at a time (`steps * stepMs` per KSampler), speaks the WebSocket protocol
 * (events only to the prompt's client_id socket; progress and interrupts broadcast when there is none),
 * keeps history, serves real PNGs from `/view` (a gradient whose colours depend on seed, checkpoint, LoRAs
 * and prompt, so tests can tell outputs apart), takes uploads, and can misbehave on demand (`faults`).
 *
 * Every route also answers under `/api`. Several emulators can run side by side (each binds 127.0.0.1:0).
 * This file is the server's lifecycle (listen, crash, come back, close); the queue, execution, history and
 * WebSockets are in comfyui/state.ts, the HTTP API in comfyui/routes.ts, the faults in comfyui/faults.ts,
 * node classes in comfyui/nodes.ts, validation in comfyui/validate.ts, exact big-integer JSON in
 * comfyui/json.ts; tests/emulators/comfyui-real.test.ts holds all of it to the real server's recorded answers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFaults, type ComfyEmulatorFaults } from './comfyui/faults.js';
import { createRoutes } from './comfyui/routes.js';
import { createComfyWorld, type ComfyEmulatorOptions, type ComfyEmulatorState } from './comfyui/state.js';

export type { EmulatedNode, EmulatedWorkflow } from './comfyui/validate.js';
export type { ComfyEmulatorOptions, ComfyEmulatorState, EmulatedHistoryEntry, ReceivedPrompt } from './comfyui/state.js';
export type { ComfyEmulatorFaults } from './comfyui/faults.js';

export interface ComfyEmulator {
  url: string;
  port: number;
  state: ComfyEmulatorState;
  faults: ComfyEmulatorFaults;
  close(): Promise<void>;
}

/** Start an emulator on 127.0.0.1 (random port). */
export async function startComfyEmulator(opts: ComfyEmulatorOptions = {}): Promise<ComfyEmulator> {
  let closed = false;
  const faults = createFaults(opts, { goDown, comeBack, dropWebSockets: () => world.dropWebSockets() });
  const world = createComfyWorld(opts, faults, goDown);
  const routes = createRoutes(world, faults, opts.comboShape ?? 'v1');

  const server = http.createServer((req, res) => {
    routes.handle(req, res).catch(() => {
      // aiohttp's answer to an exception in a handler (e.g. a body that is not JSON): it never shows the exception.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('500 Internal Server Error\n\nServer got itself in trouble');
    });
  });
  server.on('upgrade', routes.upgrade);

  let port = 0;
  function listen(p: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async function goDown(): Promise<void> {
    if (world.isDown()) return;
    world.crash();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async function comeBack(): Promise<void> {
    if (!world.isDown() || closed) return;
    await listen(port);
    world.restart();
  }

  await listen(0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state: world.state,
    faults,
    close: async () => {
      if (closed) return;
      await goDown();
      closed = true;
      await world.closeWebSockets();
    },
  };
}
