/**
 * Prompts (captions, critique, the agent) are plain text files in this folder, so people can read and tune
 * them without touching code. `dist/` holds no .txt files, so the folder is found by walking up from this
 * module (src/prompts under tsx/vitest, dist/src/prompts when built) until a directory containing
 * `src/prompts/*.txt` appears, the way data/coins.json is found.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoraloopError } from '../core/errors.js';

let cachedDir: string | undefined;
const cache = new Map<string, string>();

/** The repository's `src/prompts` folder. */
export function promptsDir(): string {
  if (cachedDir) return cachedDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'src', 'prompts');
    if (existsSync(join(candidate, 'caption_system.txt'))) return (cachedDir = candidate);
    const parent = dirname(dir);
    if (parent === dir) {
      throw new LoraloopError('NOT_FOUND', 'Could not find the src/prompts folder above the loraloop install.', {
        hint: 'Run loraloop from its repository checkout (the prompts are plain text files in src/prompts).',
      });
    }
    dir = parent;
  }
}

/** Read `src/prompts/<name>.txt` (cached). */
export function loadPrompt(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(promptsDir(), `${name}.txt`), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/** Fill `{{key}}` placeholders; unknown keys become empty, so a template never leaks braces to a model. */
export function fillPrompt(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => values[k] ?? '').replace(/\n{3,}/g, '\n\n').trim();
}

/** `src/prompts/<name>.txt` with its placeholders filled. */
export function prompt(name: string, values: Record<string, string> = {}): string {
  return fillPrompt(loadPrompt(name), values);
}
