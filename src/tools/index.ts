import { coverGenerateTool } from './cover_generate.js';
import { coverRouteTool } from './cover_route.js';
import { logoRegisterTool } from './logo_register.js';
import type { ToolDefinition } from './types.js';

/**
 * Every tool loraloop offers. Faces (MCP, CLI, agent, Slack, nightly) adapt this one list.
 * Add a tool by writing src/tools/<name>.ts and listing it here.
 */
export function allTools(): ToolDefinition[] {
  return [coverRouteTool, coverGenerateTool, logoRegisterTool] as unknown as ToolDefinition[];
}
