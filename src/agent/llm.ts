/**
 * The LLM planner: an OpenAI-compatible model drives the same tools through function calling.
 *
 * - Only a safe subset of the registry is offered (routing, generating, critiquing, listing LoRAs): no
 *   deletes, no training, no registry changes. Function parameters are generated from each tool's zod
 *   input schema (z.toJSONSchema), so the model sees exactly the contract the registry enforces.
 * - Every call goes through the registry, which validates it like any other input. An unknown tool,
 *   arguments that are not JSON, arguments that fail validation and failed tools all go back to the model
 *   as the tool's result (an error sentence it can act on); none of them ends the run.
 * - A step budget (model turns) and the attempt/time budget bound the run; cover_generate calls past the
 *   budget are refused with a message telling the model to finish.
 */
import type OpenAI from 'openai';
import { z } from 'zod';
import { createOpenAIClient, describeOpenAIError } from '../clients/openai.js';
import { prompt } from '../prompts/load.js';
import { wireData } from '../core/result.js';
import type { ToolDefinition } from '../tools/types.js';
import { callToolByName } from './improve/call.js';
import { budgetLeft, critique, generateFromModel, type AgentRun, type Attempt } from './run.js';

/** Tools the model may call. Everything else is refused as unknown. */
export const LLM_TOOLS = ['cover_route', 'cover_generate', 'cover_critique', 'lora_list'] as const;

/** Longest tool result sent back to the model (characters); data beyond is cut, the reasoning kept. */
const MAX_RESULT_CHARS = 6000;

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type FunctionTool = OpenAI.Chat.Completions.ChatCompletionFunctionTool;

/** Function definitions for the offered tools, from their zod input schemas. */
export function functionDefinitions(tools: ToolDefinition[]): FunctionTool[] {
  return tools
    .filter((t) => (LLM_TOOLS as readonly string[]).includes(t.name))
    .map((t) => {
      const parameters = z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
      delete parameters.$schema;
      return { type: 'function', function: { name: t.name, description: t.description, parameters } };
    });
}

export interface LlmOutcome {
  /** Why the loop ended. */
  why: string;
  /** The model failed before making any cover; the caller falls back to the rule planner. */
  fallback: boolean;
}

/** Run the LLM planner. */
export async function runLlmPlanner(run: AgentRun, request: string): Promise<LlmOutcome> {
  const client = createOpenAIClient(run.s, { purpose: 'The LLM planner' });
  const model = run.s.config.openai.llmModel;
  const tools = functionDefinitions(run.tools.list());
  const offered = new Set(tools.map((t) => t.function.name));
  const maxSteps = Math.min(24, run.budget.attempts * 3 + 4);
  const messages: Message[] = [
    {
      role: 'system',
      content: prompt('agent_system', {
        threshold: String(run.threshold),
        attempts: String(run.budget.attempts),
        request,
        title: run.title,
        coin: run.parsed.coin ? `${run.parsed.coin.name} (${run.parsed.coin.symbol})` : 'none named (a general crypto cover)',
      }),
    },
    { role: 'user', content: request },
  ];
  const critiqued = new Set<string>();
  for (let step = 1; step <= maxSteps; step++) {
    if (run.ctx.signal.aborted) return { why: 'the run was canceled', fallback: false };
    if (run.trail.elapsedMs() >= run.budget.seconds * 1000) return { why: `the time budget (${run.budget.seconds} s) is used`, fallback: false };
    let reply: OpenAI.Chat.Completions.ChatCompletion;
    try {
      reply = await client.chat.completions.create({ model, messages, tools, tool_choice: 'auto', temperature: 0.2 }, { signal: run.ctx.signal });
    } catch (e) {
      const d = describeOpenAIError(e);
      run.trail.add({ action: 'model', ok: false, summary: `The model call failed: ${d.message}.` });
      return { why: `the model call failed (${d.message})`, fallback: run.attempts.length === 0 };
    }
    const msg = reply.choices[0]?.message;
    if (!msg) return { why: 'the model sent an empty answer', fallback: run.attempts.length === 0 };
    const calls = (msg.tool_calls ?? []).filter((c): c is OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall => c.type === 'function');
    messages.push({ role: 'assistant', content: msg.content ?? null, ...(calls.length ? { tool_calls: calls } : {}) });
    if (calls.length === 0) {
      run.trail.add({ action: 'model', ok: true, summary: `The model finished: ${(msg.content ?? '').trim().slice(0, 400) || '(no words)'}` });
      return { why: 'the model finished', fallback: false };
    }
    for (const call of calls) {
      const content = await runCall(run, call, offered, critiqued);
      messages.push({ role: 'tool', tool_call_id: call.id, content });
    }
  }
  run.trail.add({ action: 'model', ok: false, summary: `The model used its ${maxSteps} steps without finishing.` });
  return { why: `the step budget (${maxSteps} model turns) is used`, fallback: false };
}

/** Execute one tool call of the model and return what the model gets back. */
async function runCall(
  run: AgentRun,
  call: OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall,
  offered: Set<string>,
  critiqued: Set<string>,
): Promise<string> {
  const name = call.function.name;
  const refuse = (summary: string, message: string): string => {
    run.trail.add({ action: 'model', tool: name, ok: false, summary });
    return JSON.stringify({ success: false, error: message });
  };
  if (!offered.has(name)) {
    return refuse(`The model called "${name}", which it is not offered; told it so.`, `Unknown tool "${name}". You can call: ${[...offered].join(', ')}.`);
  }
  let args: unknown;
  try {
    args = call.function.arguments.trim() ? JSON.parse(call.function.arguments) : {};
  } catch {
    return refuse(`The model sent ${name} arguments that are not JSON; told it so.`, `The arguments of ${name} are not valid JSON: ${call.function.arguments.slice(0, 200)}. Send a JSON object.`);
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return refuse(`The model sent ${name} arguments that are not an object; told it so.`, `The arguments of ${name} must be a JSON object.`);
  }
  const input = args as Record<string, unknown>;
  if (name === 'cover_generate') {
    const left = budgetLeft(run);
    if (!left.ok) return refuse(`The model asked for another cover, but ${left.why}.`, `Refused: ${left.why}. Name the best cover_id and finish.`);
  }
  if (name === 'cover_generate') {
    // Generation goes through the shared helper so the attempt is tracked like the rule planner's.
    const made = await generateFromModel(run, input, 'The model asked for a cover.');
    if (!('cover_id' in made)) return JSON.stringify({ success: false, error: `${made.code}: ${made.message}` });
    const r = run.attempts[run.attempts.length - 1]!;
    return JSON.stringify({ success: true, data: { cover_id: r.cover_id, path: r.path, seed: r.seed, style: r.style }, reasoning: `Made cover ${r.cover_id}.` });
  }
  if (name === 'cover_critique' && typeof input.cover_id === 'string') {
    const a = run.attempts.find((x) => x.cover_id === input.cover_id);
    if (a) {
      await critiqueFor(run, a, input);
      critiqued.add(a.cover_id);
      return JSON.stringify({ success: true, data: { score: a.score, checks: a.checks, disagreements: a.disagreements } });
    }
  }
  const r = await callToolByName(run.ctx, name, input);
  run.trail.add({ action: 'model', tool: name, input, ok: r.success, summary: `The model called ${name}: ${r.reasoning.slice(0, 300)}` });
  const body = JSON.stringify({ success: r.success, reasoning: r.reasoning, data: wireData(r) });
  return body.length > MAX_RESULT_CHARS ? JSON.stringify({ success: r.success, reasoning: r.reasoning, data: '(cut: too long)' }) : body;
}

/** Critique an attempt the model asked about, keeping the requested coin as the expectation. */
async function critiqueFor(run: AgentRun, a: Attempt, input: Record<string, unknown>): Promise<void> {
  const asked = (input.expect as { coin?: unknown } | undefined)?.coin;
  if (typeof asked === 'string' && run.parsed.coin && asked.toUpperCase() !== run.parsed.coin.symbol) {
    run.trail.add({ action: 'model', tool: 'cover_critique', ok: true, summary: `The model expected ${asked}; the request is for ${run.parsed.coin.symbol}, so the cover is checked against ${run.parsed.coin.symbol}.` });
  }
  await critique(run, a);
}
