/**
 * The Replicate emulator's model schemas: the published input schemas of the models loraloop calls
 * (tests/fixtures/replicate/published-input-schemas.json, read from their public source), served as each
 * version's `openapi_schema` and used to refuse predictions whose inputs they do not allow, with errors in the
 * pydantic wording the emulator uses elsewhere. Inputs a schema does not name are let through, as cog does
 * for predictions (its Input model ignores extra fields).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInputSchema } from '../../src/clients/replicate-schema.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.resolve(here, '../fixtures/replicate/published-input-schemas.json');
const doc = JSON.parse(readFileSync(file, 'utf8')) as { models: Record<string, { openapi_schema: unknown }> };

/** openapi_schema by model (`owner/name`), and `trained-version` for versions the FLUX trainer creates. */
export const PUBLISHED_SCHEMAS: Readonly<Record<string, unknown>> = Object.fromEntries(Object.entries(doc.models).map(([k, v]) => [k, v.openapi_schema]));

/** `field: message` lines for inputs the schema refuses (empty when it takes them all). */
export function schemaErrors(input: Record<string, unknown>, openapi: unknown, which: 'Input' | 'TrainingInput' = 'Input'): string[] {
  const schema = readInputSchema(openapi, which);
  if (!schema) return [];
  const errs: string[] = [];
  for (const r of schema.required) if (input[r] === undefined) errs.push(`${r}: Field required`);
  for (const [k, v] of Object.entries(input)) {
    const rule = schema.inputs[k];
    if (!rule || v === null) continue;
    if (rule.type === 'integer' && (typeof v !== 'number' || !Number.isInteger(v))) errs.push(`${k}: Input should be a valid integer`);
    else if (rule.type === 'number' && (typeof v !== 'number' || !Number.isFinite(v))) errs.push(`${k}: Input should be a valid number`);
    else if (rule.type === 'string' && typeof v !== 'string') errs.push(`${k}: Input should be a valid string`);
    else if (rule.type === 'boolean' && typeof v !== 'boolean') errs.push(`${k}: Input should be a valid boolean`);
    else if (rule.enum && !rule.enum.includes(v)) errs.push(`${k}: Input should be ${rule.enum.map((e) => `'${String(e)}'`).join(', ')}`);
    else if (typeof v === 'number' && rule.minimum !== undefined && v < rule.minimum) errs.push(`${k}: Input should be greater than or equal to ${rule.minimum}`);
    else if (typeof v === 'number' && rule.maximum !== undefined && v > rule.maximum) errs.push(`${k}: Input should be less than or equal to ${rule.maximum}`);
  }
  return errs;
}
