/**
 * The critique and agent prompts are plain text files in the repository's `src/prompts` folder, so people
 * can read and tune them without touching code. `dist/` has no .txt files, so the folder is found by
 * walking up from this module until a `src/prompts/critique_system.txt` appears (works under tsx/vitest
 * from src/ and from dist/src/ when built).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoraloopError } from '../core/errors.js';

let dir: string | undefined;
const cache = new Map<string, string>();

function promptsFolder(): string {
  if (dir) return dir;
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(d, 'src', 'prompts');
    if (existsSync(join(candidate, 'critique_system.txt'))) return (dir = candidate);
    const parent = dirname(d);
    if (parent === d) {
      throw new LoraloopError('NOT_FOUND', 'Could not find the src/prompts folder (critique and agent prompts) above the loraloop install.', {
        hint: 'Run loraloop from its repository checkout; the prompts are text files in src/prompts.',
        category: 'system',
      });
    }
    d = parent;
  }
}

/** `src/prompts/<name>.txt`, with `{{key}}` placeholders filled (unknown keys become empty). */
export function prompt(name: string, values: Record<string, string> = {}): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(promptsFolder(), `${name}.txt`), 'utf8');
    cache.set(name, text);
  }
  return text.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => values[k] ?? '').replace(/\n{3,}/g, '\n\n').trim();
}
