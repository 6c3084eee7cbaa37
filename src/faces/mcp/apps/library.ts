import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LoraloopError } from '../../../core/errors.js';

/** The name the inlined library's exports are bound to inside the view's one module script. */
export const LIBRARY_BINDING = '__extApps';

/**
 * ext-apps' self-contained View SDK (`app-with-deps`: the App class with its MCP and zod code), rewritten so it
 * can sit inline in the view's one `<script type="module">`: its trailing `export{a as App,…}` becomes
 * `const __extApps={App:a,…}`. Inline, because hosts render the view in a sandbox that may refuse every
 * outside request (no CDN, no second file, no blob: import), and the package ships the file for exactly this.
 */
export function loadInlineLibrary(): string {
  const require = createRequire(import.meta.url);
  const file = require.resolve('@modelcontextprotocol/ext-apps/app-with-deps');
  const code = readFileSync(file, 'utf8');
  return inlineModule(code, file);
}

/** Turn an ES module's single trailing export clause into a const object of the same names. */
export function inlineModule(code: string, file = 'module'): string {
  const m = /export\s*\{([^}]*)\};?\s*$/.exec(code);
  // The view's script is itself a module, so only the names matter: any other export would be harmless there.
  if (!m || m.index === undefined) {
    throw new LoraloopError('INTERNAL', `${file} is not a bundle with one trailing export clause; the cover studio view cannot inline it.`, {
      hint: 'Reinstall @modelcontextprotocol/ext-apps at the version package.json names.',
    });
  }
  const pairs = (m[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [local, exported] = s.split(/\s+as\s+/);
      return `${JSON.stringify(exported ?? local)}:${local}`;
    });
  if (/<\/script/i.test(code)) throw new LoraloopError('INTERNAL', `${file} contains "</script", which would end the inline script early.`);
  return `${code.slice(0, m.index)}const ${LIBRARY_BINDING}={${pairs.join(',')}};`;
}
