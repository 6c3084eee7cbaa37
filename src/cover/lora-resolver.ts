/**
 * How routing asks the LoRA registry which LoRA serves a coin. The registry (src/lora) implements it;
 * routing only needs these two questions answered, so it works with an empty registry too.
 */
export interface ActiveLora {
  name: string;
  version: number;
  strength: number;
  lora_id?: string;
  base_model?: string;
  file_path?: string;
  /** For Replicate: the trained model version or weights URL, when known. */
  remote_version?: string | null;
  weights_url?: string | null;
}

export interface LoraResolver {
  /** The active LoRA whose coins include `symbol` (coin-specific LoRAs). */
  activeForCoin(symbol: string): Promise<ActiveLora | null>;
  /** The active LoRA for several coins at once or a general cover style, if any. */
  activeGeneral(symbols: string[]): Promise<ActiveLora | null>;
}

/** A resolver over a registry that has no LoRAs. */
export const emptyLoraResolver: LoraResolver = {
  activeForCoin: async () => null,
  activeGeneral: async () => null,
};
