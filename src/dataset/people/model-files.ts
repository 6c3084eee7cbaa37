/**
 * Loads TensorFlow.js graph models from the files that ship inside the @vladmandic/human package. Node's
 * fetch has no `file://`, and tfjs-node (which would add one) is a native binary we do not want, so this
 * registers a tf.io load router for `file://` URLs that point INTO the package's models folder and reads the
 * model JSON and its weight shards from disk. No network, no download at run time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as tfType from '@tensorflow/tfjs-core';
import { z } from 'zod';

/** The model.json fields we read (the rest of the topology is passed through untouched). */
const modelJsonSchema = z.object({
  modelTopology: z.unknown(),
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullable().optional(),
  signature: z.unknown().optional(),
  userDefinedMetadata: z.record(z.string(), z.unknown()).optional(),
  weightsManifest: z.array(z.object({ paths: z.array(z.string().min(1)), weights: z.array(z.unknown()) })),
});

/** Root folder of the installed @vladmandic/human package. */
export function humanPackageDir(): string {
  const require = createRequire(import.meta.url);
  // The package's `exports` map hides package.json; its main file is dist/human.node.js.
  return dirname(dirname(require.resolve('@vladmandic/human')));
}

/** The folder of the models that ship in the package, as the `file://` base URL human's config takes. */
export function modelsBaseUrl(): string {
  return `${pathToFileURL(join(humanPackageDir(), 'models')).href}/`;
}

/** Register the `file://` loader on this tf instance (idempotent per instance). */
export function registerModelFileLoader(tf: typeof tfType, modelsDir: string = join(humanPackageDir(), 'models')): void {
  const root = resolve(modelsDir) + sep;
  // tf's IORouter type says it returns a handler, but returning null is how a router declines a URL.
  const router = (url: string | string[]): tfType.io.IOHandler | null => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return null;
    const file = resolve(fileURLToPath(url));
    // Only the package's own models: a URL from anywhere else is not ours to read.
    if (!file.startsWith(root)) return null;
    return {
      load: async (): Promise<tfType.io.ModelArtifacts> => {
        const json = modelJsonSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
        const dir = dirname(file);
        const shards: Buffer[] = [];
        const specs: tfType.io.WeightsManifestEntry[] = [];
        for (const group of json.weightsManifest) {
          specs.push(...(group.weights as tfType.io.WeightsManifestEntry[]));
          for (const p of group.paths) {
            const shard = resolve(dir, p);
            if (!shard.startsWith(root)) throw new Error(`weight file ${p} is outside the models folder`);
            shards.push(readFileSync(shard));
          }
        }
        const all = Buffer.concat(shards);
        return {
          modelTopology: json.modelTopology as tfType.io.ModelArtifacts['modelTopology'],
          ...(json.format ? { format: json.format } : {}),
          ...(json.generatedBy ? { generatedBy: json.generatedBy } : {}),
          ...(json.convertedBy ? { convertedBy: json.convertedBy } : {}),
          ...(json.signature ? { signature: json.signature as object } : {}),
          ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata as Record<string, object> } : {}),
          weightSpecs: specs,
          weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        };
      },
    };
  };
  tf.io.registerLoadRouter(router as Parameters<typeof tf.io.registerLoadRouter>[0]);
}
