import { describe, expect, it } from 'vitest';
import { inspectSafetensorsBuffer } from '../../../src/lora/safetensors/inspect.js';
import { architectureFromMetadata, readTagFrequency, topTags, triggerWords } from '../../../src/lora/safetensors/metadata.js';
import { buildAiToolkitFluxLora, buildKohyaSd15Lora } from '../../support/safetensors.js';

const freq = (v: Record<string, Record<string, number>>): string => JSON.stringify(v);

describe('architecture from metadata', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ ss_base_model_version: 'sd_v1' }, 'sd1'],
    [{ ss_base_model_version: 'sd_v1_v' }, 'sd1'],
    [{ ss_base_model_version: 'sd_1.5' }, 'sd1'],
    [{ ss_base_model_version: 'sd_v2_v' }, 'sd2'],
    [{ ss_base_model_version: 'sd_2.1' }, 'sd2'],
    [{ ss_base_model_version: 'sdxl_base_v1-0' }, 'sdxl'],
    [{ ss_base_model_version: 'sdxl_1.0' }, 'sdxl'],
    [{ ss_base_model_version: 'flux1' }, 'flux1'],
    [{ ss_base_model_version: 'flux.1' }, 'flux1'],
    [{ ss_base_model_version: 'chroma' }, 'unknown'],
    [{ ss_base_model_version: 'flux2' }, 'unknown'],
    [{ ss_base_model_version: 'sd_3' }, 'unknown'],
    [{ 'modelspec.architecture': 'flux-1-schnell/lora' }, 'flux1'],
    [{ 'modelspec.architecture': 'stable-diffusion-v2-768-v/lora' }, 'sd2'],
    [{ 'modelspec.architecture': 'stable-diffusion-xl-v1-base/lora' }, 'sdxl'],
    [{ 'modelspec.architecture': 'stable-diffusion-3-medium/lora' }, 'unknown'],
    [{ ss_v2: 'True' }, 'sd2'],
    // ss_base_model_version wins over ss_v2, as in A1111's detect_version.
    [{ ss_base_model_version: 'sdxl_base_v1-0', ss_v2: 'True' }, 'sdxl'],
  ];
  for (const [meta, arch] of cases) {
    it(`${JSON.stringify(meta)} -> ${arch}`, () => {
      expect(architectureFromMetadata(meta)?.architecture).toBe(arch);
    });
  }
  it('says nothing for metadata without base-model keys', () => {
    expect(architectureFromMetadata({ ss_v2: 'False', format: 'pt' })).toBeUndefined();
  });
});

describe('trigger words', () => {
  it('modelspec.trigger_phrase comes first and is split on commas', () => {
    const r = triggerWords({ 'modelspec.trigger_phrase': 'ohwx coin, gold logo ', ss_output_name: 'other' }, undefined);
    expect(r.words).toEqual(['ohwx coin', 'gold logo']);
  });

  it('an ai-toolkit 1_<trigger> directory gives the trigger', () => {
    const meta = { ss_tag_frequency: freq({ '1_sol4na': { sol4na: 1 } }), ss_output_name: 'solana_v2' };
    expect(triggerWords(meta, readTagFrequency(meta)).words).toEqual(['sol4na']);
  });

  it('a kohya <repeats>_<name> dir counts only when <name> is one of its caption tags', () => {
    const meta = {
      ss_tag_frequency: freq({
        '10_sks dog': { 'sks dog': 20, grass: 3 },
        '5_style': { 'red background': 4 },
      }),
    };
    const r = triggerWords(meta, readTagFrequency(meta));
    expect(r.words).toEqual(['sks dog']);
  });

  it('kohya ss_datasets class_tokens of training subsets are triggers; regularisation subsets are not', () => {
    const meta = {
      ss_datasets: JSON.stringify([
        { subsets: [{ image_dir: 'logos', class_tokens: 'ohwx coin', is_reg: false }, { image_dir: 'reg', class_tokens: 'coin', is_reg: true }] },
      ]),
      ss_output_name: 'ignored_run_name',
    };
    expect(triggerWords(meta, undefined).words).toEqual(['ohwx coin']);
  });

  it('a <repeats>_<name> dir with sentence captions counts when half its images mention the name', () => {
    const captions = { 'a photo of ohwx dog on grass': 1, 'ohwx dog sleeping': 1, 'a cat': 1, 'ohwx dogma book': 1 };
    const mk = (imgs: number) => ({
      ss_tag_frequency: freq({ '10_ohwx dog': captions }),
      ss_dataset_dirs: JSON.stringify({ '10_ohwx dog': { n_repeats: 10, img_count: imgs } }),
    });
    // 2 whole-word mentions ("ohwx dogma" does not count): enough for 4 images, not for 5.
    expect(triggerWords(mk(4), readTagFrequency(mk(4))).words).toEqual(['ohwx dog']);
    expect(triggerWords(mk(5), readTagFrequency(mk(5))).words).toEqual([]);
  });

  it('ss_output_name is used only as a fallback, and only if captions do not contradict it', () => {
    const withTag = { ss_output_name: 'btc_cover', ss_tag_frequency: freq({ img: { 'btc cover': 2, coin: 5 } }) };
    expect(triggerWords(withTag, readTagFrequency(withTag)).words).toEqual(['btc_cover']);

    const notInCaptions = { ss_output_name: 'run_0042', ss_tag_frequency: freq({ img: { coin: 5 } }) };
    const r = triggerWords(notInCaptions, readTagFrequency(notInCaptions));
    expect(r.words).toEqual([]);
    expect(r.evidence.join('\n')).toMatch(/ignored: it never occurs in the captions/);

    const noCaptions = { ss_output_name: 'ethlogo' };
    const weak = triggerWords(noCaptions, undefined);
    expect(weak.words).toEqual(['ethlogo']);
    expect(weak.evidence.join('\n')).toMatch(/weak guess/);
  });

  it('drops duplicates across sources, ignoring case and _ vs space', () => {
    const meta = { 'modelspec.trigger_phrase': 'Ohwx_Brand', ss_tag_frequency: freq({ '1_ohwx brand': { 'ohwx brand': 1 } }) };
    expect(triggerWords(meta, readTagFrequency(meta)).words).toEqual(['Ohwx_Brand']);
  });

  it('flows through inspection of a kohya file', () => {
    const buf = buildKohyaSd15Lora({
      sample: true,
      metadata: { ss_output_name: 'x', ss_tag_frequency: freq({ '20_doge': { doge: 12, 'shiba inu': 12, coin: 7, smile: 2 } }) },
    });
    const r = inspectSafetensorsBuffer(buf);
    expect(r.trigger_words).toEqual(['doge']);
    expect(r.tags).toEqual(['doge', 'shiba inu', 'coin', 'smile']);
  });
});

describe('tags', () => {
  it('sums counts over directories, most frequent first, ties by name, at most 20', () => {
    const tags: Record<string, number> = {};
    for (let i = 0; i < 30; i++) tags[`t${String(i).padStart(2, '0')}`] = 1;
    const meta = { ss_tag_frequency: freq({ '1_a': { coin: 2, ...tags }, '2_b': { coin: 3, logo: 4 } }) };
    const top = topTags(readTagFrequency(meta), meta);
    expect(top.slice(0, 4)).toEqual(['coin', 'logo', 't00', 't01']);
    expect(top).toHaveLength(20);
  });

  it('falls back to modelspec.tags, and survives unreadable ss_tag_frequency', () => {
    const meta = { ss_tag_frequency: '{not json', 'modelspec.tags': 'crypto, cover' };
    expect(readTagFrequency(meta)).toBeUndefined();
    expect(topTags(undefined, meta)).toEqual(['crypto', 'cover']);
  });
});

describe('metadata_json', () => {
  it('parses small JSON values, keeps ss_tag_frequency out, and leaves bad JSON as text only', () => {
    const r = inspectSafetensorsBuffer(
      buildAiToolkitFluxLora({
        sample: true,
        rank: 1,
        trigger: 'zz',
        metadata: { ss_network_args: '{"conv_dim": "4"}', broken: '{oops' },
      }),
    );
    expect(r.metadata_json['ss_network_args']).toEqual({ conv_dim: '4' });
    expect(r.metadata_json['training_info']).toEqual({ step: 1000, epoch: 0 });
    expect(r.metadata_json).not.toHaveProperty('ss_tag_frequency');
    expect(r.metadata_json).not.toHaveProperty('broken');
    expect(r.metadata['broken']).toBe('{oops');
  });
});
