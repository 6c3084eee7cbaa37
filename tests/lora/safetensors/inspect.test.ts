import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectSafetensorsBuffer, inspectSafetensorsFile } from '../../../src/lora/safetensors/inspect.js';
import { LoraInspectionSchema } from '../../../src/lora/safetensors/schema.js';
import {
  buildAiToolkitFluxLora,
  buildKohyaFluxLora,
  buildKohyaSd15Lora,
  buildKohyaSdxlLora,
  buildSafetensors,
  encodeScalar,
} from '../../support/safetensors.js';

const LORAS = fileURLToPath(new URL('../../../../shared/eval/loras/', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loraloop-inspect-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function viaFile(buf: Buffer, name: string) {
  const path = join(dir, `${name}.safetensors`);
  await writeFile(path, buf);
  return inspectSafetensorsFile(path);
}

describe('real LoRA files (../shared/eval/loras, README table)', () => {
  it('cloneofsimo SD1.5 rank 4: format cloneofsimo, UNet + CLIP-L text encoder', async () => {
    const r = await inspectSafetensorsFile(join(LORAS, 'cloneofsimo_sd15_analog_svd_rank4.safetensors'));
    expect(r.format).toBe('cloneofsimo');
    expect(r.architecture).toBe('sd1');
    expect(r.rank).toBe(4);
    expect(r.alpha).toBe(4);
    expect(r.alpha_source).toBe('default_rank');
    expect(r.tensors).toEqual({ count: 384, dtypes: { F16: 384 }, total_bytes: 3_117_793 - 8 - r.header_bytes, parameters: (3_117_793 - 8 - r.header_bytes) / 2 });
    expect(r.targets.components).toEqual(['unet', 'text_encoder']);
    expect(r.targets.modules_by_component).toEqual({ unet: 144, text_encoder: 48 });
    expect(r.metadata_json['unet']).toEqual(['CrossAttention', 'Attention', 'GEGLU']);
    expect(r.file_bytes).toBe(3_117_793);
    expect(r.evidence.join('\n')).toMatch(/module names are not stored/);
  });

  it('catundchat SD1.5: diffusers legacy attention processors, UNet only, F32', async () => {
    const r = await inspectSafetensorsFile(join(LORAS, 'catundchat_sd15_diffusers_attnprocs_rank4.safetensors'));
    expect(r.format).toBe('diffusers-legacy');
    expect(r.architecture).toBe('sd1');
    expect(r.rank).toBe(4);
    expect(r.tensors.count).toBe(256);
    expect(r.tensors.dtypes).toEqual({ F32: 256 });
    expect(r.targets).toEqual({ components: ['unet'], modules: 128, modules_by_component: { unet: 128 }, text_encoder: false });
    expect(r.metadata).toEqual({ format: 'pt' });
    expect(r.file_bytes).toBe(3_227_336);
    expect(r.evidence.join('\n')).toMatch(/attn2[^"]*to_k_lora\.down\.weight/);
  });

  it('timohavdk SD1.5: diffusers with unet. prefix, UNet only, F32', async () => {
    const r = await inspectSafetensorsFile(join(LORAS, 'timohavdk_sd15_diffusers_rank4.safetensors'));
    expect(r.format).toBe('diffusers');
    expect(r.architecture).toBe('sd1');
    expect(r.rank).toBe(4);
    expect(r.tensors.count).toBe(256);
    expect(r.targets.components).toEqual(['unet']);
    expect(r.file_bytes).toBe(3_226_184);
  });

  it('gives the same answer from a Buffer as from the path', async () => {
    const path = join(LORAS, 'timohavdk_sd15_diffusers_rank4.safetensors');
    expect(inspectSafetensorsBuffer(await readFile(path))).toEqual(await inspectSafetensorsFile(path));
  });
});

describe('kohya SD1.5 (README layout A)', () => {
  it('full rank-4 file: 264 modules, 792 tensors, 2,359,296 LoRA parameters, F16 alpha', async () => {
    const r = await viaFile(buildKohyaSd15Lora({ rank: 4, alpha: 1, alphaDtype: 'F16' }), 'kohya-sd15');
    expect(r.format).toBe('kohya');
    expect(r.architecture).toBe('sd1');
    expect(r.rank).toBe(4);
    expect(r.alpha).toBe(1);
    expect(r.scale).toBe(0.25);
    expect(r.alpha_source).toBe('tensors');
    expect(r.targets.modules_by_component).toEqual({ unet: 192, text_encoder: 72 });
    expect(r.tensors.count).toBe(792);
    expect(r.tensors.parameters).toBe(2_359_296 + 264); // + one element per alpha scalar
    expect(r.tensors.dtypes).toEqual({ F16: 792 });
    expect(r.warnings).toEqual([]);
  });

  it('decodes fractional alphas in F16, BF16 and F32 from the data section', async () => {
    for (const alphaDtype of ['F16', 'BF16', 'F32'] as const) {
      const buf = buildKohyaSd15Lora({ sample: true, rank: 8, alpha: 0.5, alphaDtype, defaultMetadata: false });
      const r = await viaFile(buf, `alpha-${alphaDtype}`);
      expect(r.alpha, alphaDtype).toBe(0.5);
      expect(r.scale).toBe(0.0625);
      expect(r.evidence.join('\n')).toContain(`.alpha scalars (${alphaDtype})`);
      expect(inspectSafetensorsBuffer(buf).alpha).toBe(0.5);
    }
  });

  it('without metadata, the attn2 context width 768 says SD1 and the evidence names the key', () => {
    const r = inspectSafetensorsBuffer(buildKohyaSd15Lora({ sample: true, defaultMetadata: false, unetOnly: true }));
    expect(r.architecture).toBe('sd1');
    expect(r.targets.text_encoder).toBe(false);
    expect(r.evidence.some((e) => e.includes('attn2_to_k.lora_down.weight') && e.includes('768'))).toBe(true);
  });

  it('a 1024-wide context says SD2; metadata ss_v2 says SD2 too', () => {
    const modules = [
      { name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight', dtype: 'F16', shape: [4, 1024] },
      { name: 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight', dtype: 'F16', shape: [320, 4] },
    ];
    expect(inspectSafetensorsBuffer(buildSafetensors(modules)).architecture).toBe('sd2');
    expect(inspectSafetensorsBuffer(buildSafetensors(modules.slice(0, 0), { ss_v2: 'True' })).architecture).toBe('sd2');
  });

  it('warns when metadata and weights disagree about the base model, keeping the metadata answer', () => {
    const r = inspectSafetensorsBuffer(buildKohyaSd15Lora({ sample: true, metadata: { ss_base_model_version: 'sdxl_base_v1-0' } }));
    expect(r.architecture).toBe('sdxl');
    expect(r.warnings.join('\n')).toMatch(/Metadata says sdxl .* weights look like sd1/);
  });

  it('warns when ss_network_dim or ss_network_alpha disagree with the weights', () => {
    const r = inspectSafetensorsBuffer(buildKohyaSd15Lora({ sample: true, rank: 4, alpha: 2, metadata: { ss_network_dim: '8', ss_network_alpha: '4' } }));
    expect(r.warnings).toContain('Metadata ss_network_dim=8, but the weights give rank 4.');
    expect(r.warnings).toContain('Metadata ss_network_alpha=4, but the weights give alpha 2.');
  });

  it('reports mixed ranks and alphas with their range', () => {
    const t = (name: string, shape: number[], data?: Buffer) => ({ name, dtype: 'F32', shape, data });
    const buf = buildSafetensors([
      t('lora_te_a.lora_down.weight', [4, 768]),
      t('lora_te_a.lora_up.weight', [768, 4]),
      t('lora_te_a.alpha', [], encodeScalar(4, 'F32')),
      t('lora_te_b.lora_down.weight', [4, 768]),
      t('lora_te_b.lora_up.weight', [768, 4]),
      t('lora_te_b.alpha', [], encodeScalar(4, 'F32')),
      t('lora_te_c.lora_down.weight', [16, 3072]),
      t('lora_te_c.lora_up.weight', [768, 16]),
      t('lora_te_c.alpha', [], encodeScalar(8, 'F32')),
    ]);
    const r = inspectSafetensorsBuffer(buf);
    expect([r.rank, r.rank_min, r.rank_max, r.alpha]).toEqual([4, 4, 16, 4]);
    expect(r.warnings).toContain('Ranks are mixed (4..16); rank reports the most common one.');
    expect(r.warnings).toContain('Alphas vary across modules (4..8); alpha reports the most common one.');
    expect(r.architecture).toBe('sd1'); // single CLIP-L text encoder, hidden 768
  });
});

describe('kohya SDXL', () => {
  it('full file (rank 1 to stay small): SAI-named U-Net, two text encoders', () => {
    const r = inspectSafetensorsBuffer(buildKohyaSdxlLora({ rank: 1, alpha: 1 }));
    expect(r.format).toBe('kohya');
    expect(r.architecture).toBe('sdxl');
    expect(r.alpha).toBe(1);
    expect(r.scale).toBe(1);
    expect(r.targets.components).toEqual(['unet', 'text_encoder', 'text_encoder_2']);
    expect(r.targets.modules_by_component).toEqual({ unet: 722, text_encoder: 72, text_encoder_2: 192 });
  });

  it('without metadata the 2048-wide context decides SDXL', () => {
    const r = inspectSafetensorsBuffer(buildKohyaSdxlLora({ sample: true, defaultMetadata: false }));
    expect(r.architecture).toBe('sdxl');
    expect(r.evidence.join('\n')).toMatch(/read 2048 features/);
  });

  it('text encoders alone still decide SDXL (lora_te2_)', () => {
    const r = inspectSafetensorsBuffer(
      buildSafetensors([
        { name: 'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight', dtype: 'F16', shape: [4, 1280] },
        { name: 'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight', dtype: 'F16', shape: [1280, 4] },
      ]),
    );
    expect(r.architecture).toBe('sdxl');
    expect(r.targets.components).toEqual(['text_encoder_2']);
  });
});

describe('FLUX.1', () => {
  it('kohya FLUX: lora_unet_double/single_blocks map to the transformer, metadata-free', () => {
    const r = inspectSafetensorsBuffer(buildKohyaFluxLora({ sample: true, rank: 8, alpha: 8, alphaDtype: 'BF16', dtype: 'BF16', defaultMetadata: false }));
    expect(r.format).toBe('kohya');
    expect(r.architecture).toBe('flux1');
    expect([r.rank, r.alpha, r.scale]).toEqual([8, 8, 1]);
    expect(r.targets.components).toEqual(['transformer']);
    expect(r.targets.modules).toBe(2 * 10 + 2 * 3);
    expect(r.evidence.join('\n')).toMatch(/2 double-block and 2 single-block indices/);
  });

  it('kohya FLUX with the CLIP-L text encoder trained', () => {
    const r = inspectSafetensorsBuffer(buildKohyaFluxLora({ sample: true, unetOnly: false }));
    expect(r.architecture).toBe('flux1');
    expect(r.targets.components).toEqual(['transformer', 'text_encoder']);
  });

  it('ai-toolkit PEFT with transformer.* keys: full layout, bf16, alpha = rank, trigger word', async () => {
    const r = await viaFile(buildAiToolkitFluxLora({ rank: 1, trigger: 'ohwx brand' }), 'aitk');
    expect(r.format).toBe('peft');
    expect(r.architecture).toBe('flux1');
    expect(r.targets.modules).toBe(494);
    expect(r.tensors.count).toBe(988);
    expect(r.tensors.dtypes).toEqual({ BF16: 988 });
    expect(r.tensors.parameters).toBe(85_917_696 / 16);
    expect([r.rank, r.alpha, r.alpha_source, r.scale]).toEqual([1, 1, 'default_rank', 1]);
    expect(r.trigger_words).toEqual(['ohwx brand']);
    expect(r.metadata_json['software']).toMatchObject({ name: 'ai-toolkit' });
  });

  it('warns when a diffusers lora_adapter_metadata alpha differs from rank (loaders disagree on scale)', () => {
    const meta = { lora_adapter_metadata: JSON.stringify({ 'transformer.r': 16, 'transformer.lora_alpha': 8 }) };
    const r = inspectSafetensorsBuffer(buildAiToolkitFluxLora({ sample: true, defaultMetadata: false, metadata: meta }));
    expect(r.alpha).toBe(16);
    expect(r.warnings.join('\n')).toMatch(/lora_alpha=8 with r=16: diffusers applies 8\/16/);
  });

  it('ai-toolkit PEFT with diffusion_model.* (BFL) keys and no metadata', () => {
    const r = inspectSafetensorsBuffer(buildAiToolkitFluxLora({ sample: true, prefix: 'diffusion_model', defaultMetadata: false }));
    expect(r.format).toBe('peft');
    expect(r.architecture).toBe('flux1');
    expect(r.rank).toBe(16);
    expect(r.targets.components).toEqual(['transformer']);
    expect(r.evidence.join('\n')).toMatch(/read 3072 features/);
  });

  it('transformer_blocks without FLUX signals (an SD3-like MMDiT) is unknown, and says why', () => {
    const r = inspectSafetensorsBuffer(
      buildSafetensors([
        { name: 'transformer.transformer_blocks.0.attn.to_q.lora_A.weight', dtype: 'BF16', shape: [4, 1536] },
        { name: 'transformer.transformer_blocks.0.attn.to_q.lora_B.weight', dtype: 'BF16', shape: [1536, 4] },
      ]),
    );
    expect(r.architecture).toBe('unknown');
    expect(r.evidence.join('\n')).toMatch(/SD3/);
  });
});

describe('not a LoRA', () => {
  it('a checkpoint-like file has format unknown, null rank and alpha, and names sample keys', () => {
    const r = inspectSafetensorsBuffer(
      buildSafetensors([{ name: 'model.diffusion_model.input_blocks.0.0.weight', dtype: 'F16', shape: [320, 4, 3, 3] }], { format: 'pt' }),
    );
    expect(r.format).toBe('unknown');
    expect([r.rank, r.alpha, r.scale, r.alpha_source]).toEqual([null, null, null, 'none']);
    expect(r.evidence[0]).toContain('model.diffusion_model.input_blocks.0.0.weight');
  });
});

describe('schema', () => {
  it('every inspection satisfies LoraInspectionSchema exactly', async () => {
    const r = await inspectSafetensorsFile(join(LORAS, 'cloneofsimo_sd15_analog_svd_rank4.safetensors'));
    expect(LoraInspectionSchema.strict().parse(r)).toEqual(r);
    const k = inspectSafetensorsBuffer(buildKohyaSd15Lora({ sample: true }));
    expect(LoraInspectionSchema.strict().parse(k)).toEqual(k);
  });

  it('describes every field', () => {
    for (const [key, field] of Object.entries(LoraInspectionSchema.shape)) {
      expect(field.description, key).toBeTruthy();
    }
  });
});
