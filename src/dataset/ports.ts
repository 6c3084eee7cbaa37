/**
 * What the dataset needs from layers it does not own. Coin detection lives in cover/coins (covers need it
 * first); the dataset only asks which coins a text names, so it declares that question here and
 * `Services.coins.detector` answers it.
 */
export interface CoinSpotter {
  /** The coins `text` names, the one it is mainly about marked primary. */
  detect(text: string): Array<{ symbol: string; name: string; primary: boolean }>;
}
