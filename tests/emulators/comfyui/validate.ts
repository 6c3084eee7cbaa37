/**
 * Workflow validation as ComfyUI 0.3.64 does it (execution.py `validate_prompt` / `validate_inputs`): the same
 * error types, messages, details and extra_info, in the same places. Held to the real server's recorded answers
 * by tests/emulators/comfyui-real.test.ts.
 */
import type { InputSpec, NodeSpec } from './nodes.js';

/** API-format node as received. */
export interface EmulatedNode {
  class_type: string;
  inputs: Record<string, unknown>;
}
export type EmulatedWorkflow = Record<string, EmulatedNode>;

export interface ErrorObj {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

/**
 * A Python exception raised inside validate_inputs that it does not catch itself (a link to a node that does
 * not exist, a slot past the outputs): it unwinds to the caller, which records it against the linked node.
 */
class PyException extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(message);
  }
}

/** Python `str()` of a JSON value, as f-strings print it. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** Python `str(float)`: 1.0, -1.0, 0.5, 1e-05, 1e+16. */
export function pyFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : n < 0 ? '-inf' : 'nan';
  if (n !== 0 && (Math.abs(n) < 1e-4 || Math.abs(n) >= 1e16)) {
    const [m, e] = n.toExponential().split('e');
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

/** Python int(v) / float(v) of a JSON value, with Python's error texts. */
function pyConvert(v: unknown, type: 'INT' | 'FLOAT'): number | bigint {
  if (type === 'INT') {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'boolean') return Number(v);
    if (typeof v === 'number') return Math.trunc(v);
    if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) {
      const b = BigInt(v.trim());
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    if (typeof v === 'string') throw new PyException('ValueError', `invalid literal for int() with base 10: '${v}'`);
    throw new PyException('TypeError', `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(v)}'`);
  }
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return Number(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    const n = t === 'inf' || t === '+inf' || t === 'infinity' ? Infinity : t === '-inf' || t === '-infinity' ? -Infinity : t === 'nan' ? NaN : t !== '' && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(t) ? Number(t) : undefined;
    if (n !== undefined) return n;
    throw new PyException('ValueError', `could not convert string to float: '${v}'`);
  }
  throw new PyException('TypeError', `float() argument must be a string or a real number, not '${pyTypeName(v)}'`);
}

function pyTypeName(v: unknown): string {
  return v === null || v === undefined ? 'NoneType' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'dict' : typeof v;
}

/** Python `str(list_of_str)`: `['a', 'b']`, with repr quoting and doubled backslashes. */
export function pyList(values: readonly string[]): string {
  const repr = (s: string): string =>
    s.includes("'") && !s.includes('"') ? `"${s.replace(/\\/g, '\\\\')}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `[${values.map(repr).join(', ')}]`;
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export type Validation =
  | { ok: true; outputs: string[]; nodeErrors: Record<string, unknown> }
  | { ok: false; error: ErrorObj; nodeErrors: Record<string, unknown> };

export function validatePrompt(prompt: Record<string, unknown>, specs: Record<string, NodeSpec>, targets: string[] | undefined): Validation {
  const outputs: string[] = [];
  for (const [id, node] of Object.entries(prompt)) {
    if (!isObj(node) || typeof node.class_type !== 'string') {
      return {
        ok: false,
        error: { type: 'invalid_prompt', message: 'Cannot execute because a node is missing the class_type property.', details: `Node ID '#${id}'`, extra_info: {} },
        nodeErrors: {},
      };
    }
    const spec = specs[node.class_type];
    if (!spec) {
      return {
        ok: false,
        error: { type: 'invalid_prompt', message: `Cannot execute because node ${node.class_type} does not exist.`, details: `Node ID '#${id}'`, extra_info: {} },
        nodeErrors: {},
      };
    }
    if (spec.outputNode && (targets === undefined || targets.includes(id))) outputs.push(id);
  }
  if (outputs.length === 0) {
    return { ok: false, error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, nodeErrors: {} };
  }
  const wf = prompt as EmulatedWorkflow;
  const validated = new Map<string, { ok: boolean; errors: ErrorObj[] }>();
  const good: string[] = [];
  const failed: Array<[string, ErrorObj[]]> = [];
  const nodeErrors: Record<string, { errors: ErrorObj[]; dependent_outputs: string[]; class_type: string }> = {};
  for (const o of outputs) {
    let ok: boolean;
    try {
      ok = validateNode(wf, o, specs, validated);
    } catch (e) {
      if (!(e instanceof PyException)) throw e;
      ok = false;
      const reason = { type: 'exception_during_validation', message: 'Exception when validating node', details: e.message, extra_info: { exception_type: e.pyType, traceback: [] } };
      validated.set(o, { ok: false, errors: [reason] });
    }
    if (ok) {
      good.push(o);
      continue;
    }
    failed.push([o, validated.get(o)?.errors ?? []]);
    for (const [id, r] of validated) {
      if (r.ok || r.errors.length === 0) continue;
      const ne = (nodeErrors[id] ??= { errors: r.errors, dependent_outputs: [], class_type: wf[id]?.class_type ?? '' });
      ne.dependent_outputs.push(o);
    }
  }
  if (good.length === 0) {
    const details = failed.flatMap(([, errs]) => errs.map((e) => `${e.message}: ${e.details}`)).join('\n');
    return {
      ok: false,
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details, extra_info: {} },
      nodeErrors,
    };
  }
  return { ok: true, outputs: good, nodeErrors };
}

function validateNode(wf: EmulatedWorkflow, id: string, specs: Record<string, NodeSpec>, validated: Map<string, { ok: boolean; errors: ErrorObj[] }>): boolean {
  const done = validated.get(id);
  if (done) return done.ok;
  const node = wf[id];
  const spec = node ? specs[node.class_type] : undefined;
  if (!node || !spec) return false;
  const errors: ErrorObj[] = [];
  validated.set(id, { ok: true, errors }); // placeholder: a cycle does not recurse forever
  let upstreamOk = true;
  const inputs = isObj(node.inputs) ? node.inputs : {};
  const all: Array<[string, InputSpec, boolean]> = [
    ...Object.entries(spec.required).map(([k, v]): [string, InputSpec, boolean] => [k, v, true]),
    ...Object.entries(spec.optional ?? {}).map(([k, v]): [string, InputSpec, boolean] => [k, v, false]),
  ];
  for (const [name, input, required] of all) {
    const info = 'type' in input ? [input.type, input.opts ?? {}] : [input.combo(), input.opts ?? {}];
    const val = inputs[name];
    if (val === undefined) {
      if (required) errors.push({ type: 'required_input_missing', message: 'Required input is missing', details: name, extra_info: { input_name: name } });
      continue;
    }
    if (Array.isArray(val)) {
      if (val.length !== 2) {
        errors.push({
          type: 'bad_linked_input',
          message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
          details: name,
          extra_info: { input_name: name, input_config: info, received_value: val },
        });
        continue;
      }
      const [src, slot] = val as [unknown, unknown];
      // `prompt[o_id]['class_type']` and `RETURN_TYPES[slot]` are not guarded in validate_inputs: the exception
      // leaves this node's validation and the caller files it under this node (see below).
      const srcNode = typeof src === 'string' ? wf[src] : undefined;
      if (!srcNode) throw new PyException('KeyError', typeof src === 'string' ? `'${src}'` : pyStr(src));
      if (typeof slot !== 'number' || !Number.isInteger(slot)) throw new PyException('TypeError', `tuple indices must be integers or slices, not ${pyTypeName(slot)}`);
      const received = specs[srcNode.class_type]?.output.at(slot);
      if (received === undefined) throw new PyException('IndexError', 'tuple index out of range');
      const want = 'type' in input ? input.type : 'COMBO';
      if (want !== received && want !== '*' && received !== '*') {
        errors.push({
          type: 'return_type_mismatch',
          message: 'Return type mismatch between linked nodes',
          details: `${name}, received_type(${received}) mismatch input_type(${want})`,
          extra_info: { input_name: name, input_config: info, received_type: received, linked_node: val },
        });
        continue;
      }
      try {
        if (!validateNode(wf, src as string, specs, validated)) upstreamOk = false;
      } catch (e) {
        if (!(e instanceof PyException)) throw e;
        upstreamOk = false;
        validated.set(src as string, {
          ok: false,
          errors: [
            {
              type: 'exception_during_inner_validation',
              message: 'Exception when validating inner node',
              details: e.message,
              extra_info: { input_name: name, input_config: info, exception_message: e.message, exception_type: e.pyType, traceback: [], linked_node: val },
            },
          ],
        });
      }
      continue;
    }
    if ('type' in input) {
      const opts = input.opts ?? {};
      if (input.type === 'INT' || input.type === 'FLOAT') {
        let v: number | bigint;
        try {
          v = pyConvert(val, input.type);
        } catch (e) {
          if (!(e instanceof PyException)) throw e;
          errors.push({
            type: 'invalid_input_type',
            message: `Failed to convert an input value to a ${input.type} value`,
            details: `${name}, ${pyStr(val)}, ${e.message}`,
            extra_info: { input_name: name, input_config: info, received_value: val, exception_message: e.message },
          });
          continue;
        }
        // Python prints the converted value and the limit: `Value -1.0 smaller than min of 0.0` for FLOAT inputs.
        const show = (n: unknown): string => (input.type === 'FLOAT' && typeof n === 'number' ? pyFloat(n) : pyStr(n));
        const min = opts.min;
        const max = opts.max;
        if ((typeof min === 'number' || typeof min === 'bigint') && v < min) {
          errors.push({ type: 'value_smaller_than_min', message: `Value ${show(v)} smaller than min of ${show(min)}`, details: name, extra_info: { input_name: name, input_config: info, received_value: v } });
          continue;
        }
        if ((typeof max === 'number' || typeof max === 'bigint') && v > max) {
          errors.push({ type: 'value_bigger_than_max', message: `Value ${show(v)} bigger than max of ${show(max)}`, details: name, extra_info: { input_name: name, input_config: info, received_value: v } });
          continue;
        }
      }
      continue;
    }
    if (spec.validate) continue; // VALIDATE_INPUTS nodes skip the list check
    const options = input.combo();
    if (!options.includes(val as string)) {
      const long = options.length > 20;
      errors.push({
        type: 'value_not_in_list',
        message: 'Value not in list',
        details: `${name}: '${String(val)}' not in ${long ? `(list of length ${options.length})` : pyList(options)}`,
        extra_info: { input_name: name, input_config: long ? null : info, received_value: val },
      });
    }
  }
  if (spec.validate && errors.length === 0) {
    const r = spec.validate(inputs);
    if (r !== true) {
      const name = Object.keys(spec.required)[0] ?? '';
      errors.push({ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: `${name} - ${r}`, extra_info: { input_name: name, received_value: inputs[name] } });
    }
  }
  const ok = upstreamOk && errors.length === 0;
  validated.set(id, { ok, errors });
  return ok;
}

