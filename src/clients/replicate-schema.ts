/**
 * Checking the inputs we send to a Replicate model against the input schema its version publishes
 * (`openapi_schema.components.schemas.Input` for predictions, `TrainingInput` for trainings; cog writes choices
 * as `allOf: [{$ref: "#/components/schemas/<name>"}]` pointing at an enum schema). Models change under a pinned
 * name (black-forest-labs/flux-dev-lora is one name over many versions), so before a prediction or training the
 * live schema is fetched and every difference is logged as a warning: a renamed input is otherwise dropped or
 * refused without loraloop knowing why. Never fatal: the model's own validation still has the last word.
 */
import type Replicate from 'replicate';
import { z } from 'zod';
import type { Logger } from '../core/logger.js';

const PropertySchema = z.looseObject({
  type: z.string().optional(),
  enum: z.array(z.unknown()).optional(),
  allOf: z.array(z.looseObject({ $ref: z.string().optional() })).optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
});
const ObjectSchema = z.looseObject({
  properties: z.record(z.string(), PropertySchema).optional(),
  required: z.array(z.string()).optional(),
  enum: z.array(z.unknown()).optional(),
  type: z.string().optional(),
});
/** The part of a cog version's `openapi_schema` we read. */
export const OpenApiInputSchema = z.looseObject({
  components: z.looseObject({ schemas: z.record(z.string(), ObjectSchema) }),
});

/** One input as the schema allows it. */
export interface InputRule {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
}

/** A model's inputs: name -> rule, plus the required names. */
export interface InputSchema {
  inputs: Record<string, InputRule>;
  required: string[];
}

/** `Input` (predictions) or `TrainingInput` (trainings) out of an openapi_schema; undefined when absent or unreadable. */
export function readInputSchema(openapi: unknown, which: 'Input' | 'TrainingInput'): InputSchema | undefined {
  const parsed = OpenApiInputSchema.safeParse(openapi);
  if (!parsed.success) return undefined;
  const schemas = parsed.data.components.schemas;
  const obj = schemas[which];
  if (!obj?.properties) return undefined;
  const inputs: Record<string, InputRule> = {};
  for (const [name, p] of Object.entries(obj.properties)) {
    const ref = p.allOf?.[0]?.$ref?.split('/').pop();
    const target = ref ? schemas[ref] : undefined;
    const rule: InputRule = {};
    const type = p.type ?? target?.type;
    const values = p.enum ?? target?.enum;
    if (type !== undefined) rule.type = type;
    if (values !== undefined) rule.enum = values;
    if (p.minimum !== undefined) rule.minimum = p.minimum;
    if (p.maximum !== undefined) rule.maximum = p.maximum;
    inputs[name] = rule;
  }
  return { inputs, required: obj.required ?? [] };
}

const jsonType = (v: unknown): string =>
  typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;

/** Sentences, one per difference between `input` and `schema` (empty when they agree). */
export function inputProblems(input: Record<string, unknown>, schema: InputSchema): string[] {
  const out: string[] = [];
  const known = Object.keys(schema.inputs);
  for (const [name, value] of Object.entries(input)) {
    const rule = schema.inputs[name];
    if (!rule) {
      out.push(`input "${name}" is not an input of this model (it takes: ${known.join(', ')})`);
      continue;
    }
    if (value === null || value === undefined) continue;
    const got = jsonType(value);
    const fits = rule.type === undefined || got === rule.type || (rule.type === 'number' && got === 'integer');
    if (!fits) {
      out.push(`input "${name}" is ${got} ${JSON.stringify(value)}, the model wants ${rule.type}`);
      continue;
    }
    if (rule.enum && !rule.enum.includes(value)) out.push(`input "${name}" = ${JSON.stringify(value)} is not one of ${rule.enum.map((e) => JSON.stringify(e)).join(', ')}`);
    if (typeof value === 'number' && rule.minimum !== undefined && value < rule.minimum) out.push(`input "${name}" = ${value} is below the minimum ${rule.minimum}`);
    if (typeof value === 'number' && rule.maximum !== undefined && value > rule.maximum) out.push(`input "${name}" = ${value} is above the maximum ${rule.maximum}`);
  }
  for (const r of schema.required) if (!(r in input)) out.push(`input "${r}" is required by the model but not sent`);
  return out;
}

/** Where a model version lives: `owner/name` (its latest version) or `owner/name:version`. */
export interface ModelVersionRef {
  owner: string;
  name: string;
  version?: string | undefined;
}

/** Fetches live schemas (once per version) and logs how our inputs differ from them. */
export interface SchemaChecker {
  /** Compare `input` with the live schema of `ref`; logs each difference and returns them. Never throws. */
  check(ref: ModelVersionRef, which: 'Input' | 'TrainingInput', input: Record<string, unknown>): Promise<string[]>;
}

/** A checker over the official client (GET /models/{owner}/{name}[/versions/{id}]). */
export function createSchemaChecker(client: Pick<Replicate, 'models'>, logger: Logger): SchemaChecker {
  const cache = new Map<string, Promise<unknown>>();
  // A batch of covers sends the same inputs many times: each difference is logged once per model.
  const told = new Set<string>();
  const warnOnce = (model: string, msg: string, fields: Record<string, unknown>): void => {
    const key = `${model}\n${msg}\n${JSON.stringify(fields)}`;
    if (told.has(key)) return;
    told.add(key);
    logger.warn(msg, { model, ...fields });
  };
  const fetchSchema = (ref: ModelVersionRef): Promise<unknown> => {
    const key = `${ref.owner}/${ref.name}:${ref.version ?? 'latest'}`;
    let hit = cache.get(key);
    if (!hit) {
      hit = (async () => {
        if (ref.version) return ((await client.models.versions.get(ref.owner, ref.name, ref.version)) as { openapi_schema?: unknown }).openapi_schema;
        const model = (await client.models.get(ref.owner, ref.name)) as { latest_version?: { openapi_schema?: unknown } | null };
        return model.latest_version?.openapi_schema;
      })();
      // A failed look-up is retried next time (the model may have been cold, or the token just set).
      hit.catch(() => cache.delete(key));
      cache.set(key, hit);
    }
    return hit;
  };
  return {
    async check(ref, which, input) {
      const model = `${ref.owner}/${ref.name}${ref.version ? `:${ref.version}` : ''}`;
      let openapi: unknown;
      try {
        openapi = await fetchSchema(ref);
      } catch (e) {
        logger.warn('could not fetch the Replicate model schema; inputs not checked', { model, error: e instanceof Error ? e.message : String(e) });
        return [];
      }
      const schema = readInputSchema(openapi, which);
      if (!schema) {
        warnOnce(model, 'the Replicate model publishes no input schema; inputs not checked', { schema: which });
        return [];
      }
      const problems = inputProblems(input, schema);
      for (const problem of problems) warnOnce(model, 'Replicate input differs from the model schema', { problem });
      return problems;
    },
  };
}
