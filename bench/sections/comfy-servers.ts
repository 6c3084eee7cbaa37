/**
 * Child process for the generation bench: runs ComfyUI emulators outside the measuring process, so our own
 * work (composition, storage) cannot slow the emulated GPUs down. Prints `{"urls": [...]}` once, then answers
 * JSON commands on stdin, one per line:
 *   {"cmd": "down_after", "server": 0, "prompts": 3}  crash server 0 mid-sampling once it has received 3 prompts
 *   {"cmd": "reset"}                                   bring every server back, clear counters
 *   {"cmd": "stats"}                                   print {"received": [n...], "down_at": [ms|null...]}
 *   {"cmd": "busy"}                                    print {"busy": [{"ms": total run time, "n": prompts}...]} since the last reset
 */
import { createInterface } from 'node:readline';
import { startComfyEmulator, type ComfyEmulator } from '../../tests/emulators/comfyui.js';

const stepMs = (process.argv[2] ?? '8,12,24').split(',').map(Number);
const steps = Number(process.argv[3] ?? 20);
const checkpoints = ['beenyouLite_l15.safetensors', 'realisticVisionV60B1_v51VAE.safetensors', 'dreamshaper_8.safetensors'];
const emus: ComfyEmulator[] = await Promise.all(stepMs.map((ms, i) => startComfyEmulator({ stepMs: ms, steps, name: `gpu${i}`, checkpoints })));
const base = emus.map((e) => e.state.received.length);
const downAt: Array<number | null> = emus.map(() => null);
const watchers: NodeJS.Timeout[] = [];
let resetAt = 0;

process.stdout.write(`${JSON.stringify({ urls: emus.map((e) => e.url) })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line) as { cmd: string; server?: number; prompts?: number };
  if (msg.cmd === 'down_after') {
    const i = msg.server ?? 0;
    const e = emus[i] as ComfyEmulator;
    const w = setInterval(() => {
      if (e.state.received.length - (base[i] ?? 0) >= (msg.prompts ?? 1) && e.faults.downAtStep === undefined && downAt[i] === null) {
        e.faults.downAtStep = Math.max(1, Math.floor(steps / 2));
        const check = setInterval(() => {
          if (e.faults.downAtStep === undefined) {
            downAt[i] = Date.now();
            clearInterval(check);
          }
        }, 1);
        clearInterval(w);
      }
    }, 1);
    watchers.push(w);
    process.stdout.write('{"ok":true}\n');
  } else if (msg.cmd === 'reset') {
    for (const w of watchers.splice(0)) clearInterval(w);
    for (const e of emus) {
      e.faults.downAtStep = undefined;
      await e.faults.comeBack();
    }
    resetAt = Date.now();
    emus.forEach((e, i) => {
      base[i] = e.state.received.length;
      downAt[i] = null;
    });
    process.stdout.write('{"ok":true}\n');
  } else if (msg.cmd === 'stats') {
    process.stdout.write(`${JSON.stringify({ received: emus.map((e, i) => e.state.received.length - (base[i] ?? 0)), down_at: downAt })}\n`);
  } else if (msg.cmd === 'busy') {
    // Run time of each prompt finished since the last reset, from its own history (execution_start to _success).
    const busy = emus.map((e) => {
      let ms = 0;
      let n = 0;
      for (const h of e.state.history.values()) {
        const at = (type: string) => h.status.messages.find((m) => m[0] === type)?.[1].timestamp as number | undefined;
        const start = at('execution_start');
        const end = at('execution_success');
        if (start !== undefined && end !== undefined && start >= resetAt) {
          ms += end - start;
          n++;
        }
      }
      return { ms, n };
    });
    process.stdout.write(`${JSON.stringify({ busy })}\n`);
  } else if (msg.cmd === 'exit') {
    break;
  }
}
await Promise.all(emus.map((e) => e.close()));
process.exit(0);
