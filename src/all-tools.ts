import { toolList } from './agent/tools/index.js';
import type { ToolDefinition } from './tools/types.js';

/**
 * Every tool loraloop offers. Faces (MCP, CLI, agent, Slack, nightly) adapt this one list.
 * Add a tool by writing src/tools/<name>.ts (src/agent/tools/ for one that drives the agent) and listing it in
 * src/agent/tools/index.ts, whose typed list the agent's tool-to-tool calls use too.
 */
export function allTools(): ToolDefinition[] {
  return [...toolList()] as unknown as ToolDefinition[];
}
