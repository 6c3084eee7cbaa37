/**
 * LoRA key naming conventions (CONTRACTS.md §3.3-3.6): which suffix marks a down/up/alpha tensor,
 * which naming style that suffix belongs to, and which model component a module path adapts.
 */
import type { LoraComponent } from './schema.js';

/** Naming styles we can tell apart. Mirrors `LoraFormat` minus `unknown`. */
export type KeyStyle = 'kohya' | 'peft' | 'diffusers' | 'diffusers-legacy' | 'cloneofsimo';

/** The part of a LoRA a tensor holds. */
export type KeyRole = 'down' | 'up' | 'alpha';

/** Model components a LoRA can adapt (diffusers pipeline names). */
export type Component = LoraComponent;

/** How a tensor name reads as a LoRA key. Shared, frozen objects: classifying allocates nothing. */
export interface ClassifiedKey {
  readonly role: KeyRole;
  /** Undefined for `.alpha`, which several styles share. */
  readonly style: KeyStyle | undefined;
  /** Characters to cut from the end of the name to get the adapted module's path. */
  readonly suffixLength: number;
}

function rule(suffix: string, role: KeyRole, style: KeyStyle | undefined): readonly [string, ClassifiedKey] {
  return [suffix, Object.freeze({ role, style, suffixLength: suffix.length })];
}

/**
 * Suffix table, most common first. `_lora.down.weight` and `.lora.down.weight` differ only in the
 * character before `lora`, so each is matched with its separator.
 */
const SUFFIXES: ReadonlyArray<readonly [string, ClassifiedKey]> = [
  rule('.lora_down.weight', 'down', 'kohya'),
  rule('.lora_up.weight', 'up', 'kohya'),
  rule('.alpha', 'alpha', undefined),
  rule('.lora_A.weight', 'down', 'peft'),
  rule('.lora_B.weight', 'up', 'peft'),
  rule('.lora_A.default.weight', 'down', 'peft'),
  rule('.lora_B.default.weight', 'up', 'peft'),
  rule('.lora.down.weight', 'down', 'diffusers'),
  rule('.lora.up.weight', 'up', 'diffusers'),
  rule('.lora_linear_layer.down.weight', 'down', 'diffusers'),
  rule('.lora_linear_layer.up.weight', 'up', 'diffusers'),
  rule('_lora.down.weight', 'down', 'diffusers-legacy'),
  rule('_lora.up.weight', 'up', 'diffusers-legacy'),
];

/** cloneofsimo lora_diffusion keys: `<target>:<index>:down|up`, module identity is only an index. */
const CLONEOFSIMO = /^[A-Za-z_][A-Za-z0-9_]*:\d+:(down|up)$/;
const CLONE_DOWN: ClassifiedKey = Object.freeze({ role: 'down', style: 'cloneofsimo', suffixLength: ':down'.length });
const CLONE_UP: ClassifiedKey = Object.freeze({ role: 'up', style: 'cloneofsimo', suffixLength: ':up'.length });

/** Returns how a tensor name reads as a LoRA key, or undefined when it is not one. */
export function classifyKey(name: string): ClassifiedKey | undefined {
  for (const [suffix, key] of SUFFIXES) {
    if (name.endsWith(suffix)) return key;
  }
  const last = name.charCodeAt(name.length - 1);
  // 'n' (down) or 'p' (up): only then pay for the regex.
  if ((last === 0x6e || last === 0x70) && name.includes(':')) {
    const m = CLONEOFSIMO.exec(name);
    if (m) return m[1] === 'down' ? CLONE_DOWN : CLONE_UP;
  }
  return undefined;
}

/** The adapted module's path: the name without its LoRA suffix. */
export function moduleOf(name: string, key: ClassifiedKey): string {
  return name.slice(0, name.length - key.suffixLength);
}

/** Dotted prefixes of diffusers/PEFT saves and what they adapt. */
const DOTTED_PREFIXES: ReadonlyArray<readonly [string, Component]> = [
  ['unet.', 'unet'],
  ['text_encoder.', 'text_encoder'],
  ['text_encoder_2.', 'text_encoder_2'],
  ['text_encoder_3.', 'text_encoder_3'],
  ['transformer.', 'transformer'],
  // BFL/ComfyUI names (ai-toolkit "diffusion_model." PEFT keys) adapt the FLUX transformer.
  ['diffusion_model.', 'transformer'],
  ['lora_transformer_', 'transformer'],
  ['lora_unet_', 'unet'],
  ['lora_te1_', 'text_encoder'],
  ['lora_te2_', 'text_encoder_2'],
  ['lora_te3_', 'text_encoder_3'],
  ['lora_te_', 'text_encoder'],
  ['unet:', 'unet'],
  ['text_encoder:', 'text_encoder'],
];

/** Bare module paths (no component prefix), as in diffusers attention-processor saves. */
const BARE_PREFIXES: ReadonlyArray<readonly [string, Component]> = [
  ['down_blocks', 'unet'],
  ['mid_block', 'unet'],
  ['up_blocks', 'unet'],
  ['text_model', 'text_encoder'],
  ['double_blocks', 'transformer'],
  ['single_blocks', 'transformer'],
  ['transformer_blocks', 'transformer'],
  ['single_transformer_blocks', 'transformer'],
];

/** Which component a module path adapts, plus the path with that prefix removed. */
export function componentOf(module: string): { component: Component; path: string } {
  const m = module.startsWith('base_model.model.') ? module.slice(17) : module;
  for (const [prefix, component] of DOTTED_PREFIXES) {
    if (m.startsWith(prefix)) {
      const path = m.slice(prefix.length);
      // kohya calls the FLUX/SD3 transformer "lora_unet" for ComfyUI compatibility.
      if (component === 'unet' && /^(double_blocks|single_blocks|joint_blocks)/.test(path)) {
        return { component: 'transformer', path };
      }
      return { component, path };
    }
  }
  for (const [prefix, component] of BARE_PREFIXES) {
    if (m.startsWith(prefix)) return { component, path: m };
  }
  return { component: 'other', path: m };
}
