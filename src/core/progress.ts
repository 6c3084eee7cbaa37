/** Progress of long work, forwarded by faces (MCP notifications/progress, CLI bars, Slack updates). */
export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

/** Where long domain work reports how far it is; tool handlers pass `ctx.progress`. */
export type Progress = (p: ProgressUpdate) => void;
