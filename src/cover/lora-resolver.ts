/**
 * How routing asks the LoRA registry which LoRA serves a coin. The registry (src/lora/registry.ts) declares
 * and answers the two questions; routing only needs them answered, so it works with an empty registry too.
 */
import type { LoraResolver } from '../lora/registry.js';

export type { ActiveLora, LoraResolver } from '../lora/registry.js';

/** A resolver over a registry that has no LoRAs. */
export const emptyLoraResolver: LoraResolver = {
  activeForCoin: async () => null,
  activeGeneral: async () => null,
};
