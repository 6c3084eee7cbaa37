/**
 * formatNodeErrors on bodies the emulator really sends (current shape) and on the 2024 shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNodeErrors } from '../../../../src/cover/backends/comfyui/node-errors.js';
import { startComfyEmulator, type ComfyEmulator } from '../../../emulators/comfyui.js';

let emu: ComfyEmulator;
beforeAll(async () => {
  emu = await startComfyEmulator({ loras: ['a.safetensors', 'b.safetensors'] });
});
afterAll(() => emu.close());

async function refusedBody(body: unknown): Promise<unknown> {
  const res = await fetch(`${emu.url}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(400);
  return res.json();
}

describe('formatNodeErrors', () => {
  it('names the node, its class and the fix for per-input errors', async () => {
    const body = await refusedBody({
      prompt: {
        '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
        '2': { class_type: 'LoraLoader', inputs: { model: ['1', 0], clip: ['1', 1], lora_name: 'c.safetensors', strength_model: 1, strength_clip: 1 } },
        '3': { class_type: 'EmptyLatentImage', inputs: { width: 8, height: 512, batch_size: 1 } },
        '4': { class_type: 'CLIPTextEncode', inputs: { clip: ['2', 1] } },
        '5': { class_type: 'KSampler', inputs: { model: ['2', 0], seed: 1, steps: 20, cfg: 7, sampler_name: 'euler', scheduler: 'normal', positive: ['4', 0], negative: ['4', 0], latent_image: ['3', 0], denoise: 1 } },
        '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
        '7': { class_type: 'SaveImage', inputs: { images: ['6', 0], filename_prefix: 'x' } },
      },
    });
    const text = formatNodeErrors(body);
    expect(text).toContain('ComfyUI refused the workflow: Prompt outputs failed validation.');
    expect(text).toContain("Node 2 (LoraLoader): Value not in list: lora_name: 'c.safetensors' not in ['a.safetensors', 'b.safetensors'].");
    expect(text).toContain('Node 3 (EmptyLatentImage): Value 8 smaller than min of 16: width.');
    expect(text).toContain('Node 4 (CLIPTextEncode): Required input is missing: text.');
  });

  it('reads top-level errors in the current and the 2024 shape', async () => {
    expect(formatNodeErrors(await refusedBody({ client_id: 'x' }))).toBe('ComfyUI refused the workflow: No prompt provided.');
    expect(formatNodeErrors(await refusedBody({ prompt: { '1': { class_type: 'Nope', inputs: {} } } }))).toBe(
      "ComfyUI refused the workflow: Cannot execute because node Nope does not exist. Node ID '#1'.",
    );
    emu.faults.errorShape = '2024';
    const legacy = await refusedBody({});
    expect(legacy).toEqual({ error: 'no prompt', node_errors: [] });
    expect(formatNodeErrors(legacy)).toBe('ComfyUI refused the workflow: no prompt.');
    emu.faults.errorShape = 'current';
  });

  it('quotes bodies it cannot read instead of failing', () => {
    expect(formatNodeErrors('<html>Bad Gateway</html>')).toBe('ComfyUI refused the workflow with an unexpected answer: <html>Bad Gateway</html>');
  });
});
