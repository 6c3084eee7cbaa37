/**
 * Base-model decision (CONTRACTS.md §3.7): metadata first, then key patterns and shapes.
 * When both speak and disagree we keep the metadata answer, as specified, but warn, because a wrong
 * base model makes ComfyUI skip every key silently.
 */
import { mode, type KeyStats } from './analyze.js';
import { architectureFromMetadata } from './metadata.js';
import type { LoraArchitecture } from './schema.js';

/** The architecture and the sentences behind it. */
export interface ArchitectureDecision {
  architecture: LoraArchitecture;
  evidence: string[];
  warnings: string[];
}

interface KeyVerdict {
  architecture: LoraArchitecture;
  evidence: string;
}

const CONTEXT_NAMES: Record<number, [LoraArchitecture, string]> = {
  768: ['sd1', 'CLIP-L context, SD 1.x'],
  1024: ['sd2', 'OpenCLIP-H context, SD 2.x'],
  2048: ['sdxl', 'CLIP-L + CLIP-G context, SDXL'],
};

/** What the weights alone say, or undefined when nothing decides. */
export function architectureFromKeys(s: KeyStats): KeyVerdict | undefined {
  const double = s.doubleBlocks.size + s.ditBlocks.size;
  const single = s.singleBlocks.size;
  if (s.doubleBlocks.size > 0 || single > 0 || (s.ditBlocks.size > 0 && s.transformer3072 > 0 && s.jointBlocks === 0)) {
    const width = s.transformer3072 > 0 ? `; ${s.transformer3072} transformer down weights read 3072 features (FLUX.1 hidden size)` : '';
    return {
      architecture: 'flux1',
      evidence: `FLUX.1 transformer keys: ${double} double-block and ${single} single-block indices (FLUX.1 has 19 and 38)${width}`,
    };
  }
  if (s.jointBlocks > 0 || s.ditBlocks.size > 0) {
    return {
      architecture: 'unknown',
      evidence: 'transformer_blocks/joint_blocks without FLUX single blocks or 3072-wide inputs: an MMDiT such as SD3, which is not one of sd1/sd2/sdxl/flux1',
    };
  }
  const ctx = mode(s.context);
  if (ctx !== undefined) {
    const named = CONTEXT_NAMES[ctx];
    if (named) {
      return {
        architecture: named[0],
        evidence: `U-Net cross-attention (attn2 to_k/to_v) down weights read ${ctx} features (${named[1]}), e.g. "${s.contextKey}"`,
      };
    }
  }
  if (s.modulesByComponent.has('text_encoder_2') || s.textHidden.get('text_encoder') === 1280) {
    return { architecture: 'sdxl', evidence: 'a second text encoder is adapted (lora_te2_ / text_encoder_2. keys), which only SDXL has here' };
  }
  if (s.deepKey) return { architecture: 'sdxl', evidence: `U-Net transformer depth above 1 ("${s.deepKey}"), which SDXL has and SD 1.x/2.x do not` };
  if (s.ldmKey) return { architecture: 'sdxl', evidence: `U-Net keys use SAI names ("${s.ldmKey}"), as kohya writes them for SDXL` };
  const like = mode(s.unetContextLike);
  if (like !== undefined) {
    const named = CONTEXT_NAMES[like];
    if (named) {
      return {
        architecture: named[0],
        evidence: `U-Net down weights read ${like} features, a width only the cross-attention context has (${named[1]}); module names are not stored`,
      };
    }
  }
  const te = s.textHidden.get('text_encoder');
  if (te === 768) return { architecture: 'sd1', evidence: 'one text encoder with hidden size 768 (CLIP-L) and no second text encoder: SD 1.x' };
  if (te === 1024) return { architecture: 'sd2', evidence: 'text encoder hidden size 1024 (OpenCLIP-H): SD 2.x' };
  return undefined;
}

/** Metadata first, then weights. */
export function decideArchitecture(s: KeyStats, meta: Record<string, string>): ArchitectureDecision {
  const fromMeta = architectureFromMetadata(meta);
  const fromKeys = architectureFromKeys(s);
  const evidence: string[] = [];
  const warnings: string[] = [];
  if (fromMeta) {
    evidence.push(`architecture ${fromMeta.architecture}: ${fromMeta.evidence}`);
    if (fromKeys) {
      if (fromKeys.architecture !== 'unknown' && fromMeta.architecture !== 'unknown' && fromKeys.architecture !== fromMeta.architecture) {
        warnings.push(
          `Metadata says ${fromMeta.architecture} (${fromMeta.evidence}) but the weights look like ${fromKeys.architecture} (${fromKeys.evidence}); check which base model this LoRA really needs.`,
        );
      } else {
        evidence.push(`architecture check from weights: ${fromKeys.evidence}`);
      }
    }
    return { architecture: fromMeta.architecture, evidence, warnings };
  }
  if (fromKeys) {
    evidence.push(`architecture ${fromKeys.architecture}: ${fromKeys.evidence}`);
    return { architecture: fromKeys.architecture, evidence, warnings };
  }
  evidence.push('architecture unknown: no base-model metadata and no decisive key pattern or shape');
  return { architecture: 'unknown', evidence, warnings };
}
