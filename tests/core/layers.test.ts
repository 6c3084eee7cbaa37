/**
 * The layer rules `npm run lint` enforces (.dependency-cruiser.mjs), run by the real depcruise with the project's
 * config on a small tree in a temp folder: an import that reaches up a layer, a runtime cycle and a folder outside
 * every layer fail, naming the rule and the import; imports down the layers and a type-only cycle pass.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const depcruise = path.join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
const config = path.join(repo, '.dependency-cruiser.mjs');

let dir: string;

async function put(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await writeFile(path.join(dir, file), text);
}

function cruise(...targets: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [depcruise, ...targets, '--config', config, '--output-type', 'err'], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loraloop-layers-'));
  await put('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }));
  await put('src/core/base.ts', 'export const base = 1;\n');
  // Down the layers: allowed.
  await put('src/tools/tool.ts', "import { base } from '../core/base.js';\nexport const tool = base + 1;\n");
  await put('src/cover/ok.ts', "import { base } from '../core/base.js';\nexport const fine = base;\n");
  // A type-only cycle vanishes when compiled: allowed.
  await put('src/lora/x.ts', "import type { Y } from './y.js';\nexport interface X { y?: Y }\n");
  await put('src/lora/y.ts', "import type { X } from './x.js';\nexport interface Y { x?: X }\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('layer rules', () => {
  it('pass a tree whose imports only go down the layers', () => {
    const r = cruise('src');
    expect(r.out).toContain('no dependency violations found');
    expect(r.code).toBe(0);
  });

  describe('with imports that break them', () => {
    // One cruise for every broken import (each run starts a Node process): the tests read its report.
    let r: { code: number | null; out: string };
    beforeAll(async () => {
      // A domain module importing a tool; a type-only import from a higher layer (a type still ties the layers).
      await put('src/cover/reach-up.ts', "import { tool } from '../tools/tool.js';\nexport const up = tool;\n");
      await put('src/dataset/typed.ts', "import type { X } from '../lora/x.js';\nexport type Z = X;\n");
      // Modules that load each other at runtime.
      await put('src/dataset/a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
      await put('src/dataset/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
      // A top-level folder no layer names.
      await put('src/extras/thing.ts', "import { base } from '../core/base.js';\nexport const thing = base;\n");
      r = cruise('src');
    });

    it('fail the lint with one violation per broken import (a cycle counts once)', () => {
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/x 4 dependency violations \(4 errors/);
    });

    it('name the layer rule and the import that reaches up, type-only imports included', () => {
      expect(r.out).toMatch(/error layer-cover: src\/cover\/reach-up\.ts → src\/tools\/tool\.ts/);
      expect(r.out).toMatch(/error layer-dataset: src\/dataset\/typed\.ts → src\/lora\/x\.ts/);
    });

    it('name a runtime cycle, but not a type-only one', () => {
      expect(r.out).toMatch(/error no-runtime-cycle: src\/dataset\/a\.ts →\s+src\/dataset\/b\.ts →\s+src\/dataset\/a\.ts/);
      expect(r.out).not.toMatch(/no-runtime-cycle: src\/lora\//);
    });

    it('name a file outside every layer', () => {
      expect(r.out).toMatch(/error in-layers: src\/extras\/thing\.ts → src\/core\/base\.ts/);
    });
  });
});
