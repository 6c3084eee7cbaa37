import { coverCritiqueTool } from './cover_critique.js';
import { backendsStatusTool } from './backends_status.js';
import { checkpointStatsTool } from './checkpoint_stats.js';
import { coverBatchTool } from './cover_batch.js';
import { coverGenerateTool } from './cover_generate.js';
import { coverMakeTool } from './cover_make.js';
import { draftsSelectTool } from './drafts_select.js';
import { loraDiscoverTool } from './lora_discover.js';
import { coverRateTool } from './cover_rate.js';
import { coverRouteTool } from './cover_route.js';
import { logoRegisterTool } from './logo_register.js';
import { datasetExportTool } from './dataset_export.js';
import { datasetCollectTool } from './dataset_collect.js';
import { improveRunTool } from './improve_run.js';
import { improveStatusTool } from './improve_status.js';
import { captionLintTool } from './caption_lint.js';
import { captionWriteTool } from './caption_write.js';
import { datasetAnalyzeTool } from './dataset_analyze.js';
import { datasetRebalanceTool } from './dataset_rebalance.js';
import { datasetReportTool } from './dataset_report.js';
import { loraActivateTool } from './lora_activate.js';
import { loraCancelTool } from './lora_cancel.js';
import { loraCreateTool } from './lora_create.js';
import { loraDeleteTool } from './lora_delete.js';
import { loraImportTool } from './lora_import.js';
import { loraInspectTool } from './lora_inspect.js';
import { loraListTool } from './lora_list.js';
import { loraStatusTool } from './lora_status.js';
import { loraTrainTool } from './lora_train.js';
import { loraUploadImagesTool } from './lora_upload_images.js';
import { jobStatusTool } from './job_status.js';
import { loraUploadUrlsTool } from './lora_upload_urls.js';
import type { ToolDefinition } from './types.js';

/** Every tool with its own types: its literal name and its input and output schemas. */
function toolList() {
  return [
    coverRouteTool,
    coverGenerateTool,
    coverBatchTool,
    draftsSelectTool,
    checkpointStatsTool,
    loraDiscoverTool,
    backendsStatusTool,
    coverCritiqueTool,
    coverRateTool,
    coverMakeTool,
    logoRegisterTool,
    loraCreateTool,
    loraUploadImagesTool,
    loraUploadUrlsTool,
    loraListTool,
    loraActivateTool,
    loraDeleteTool,
    loraInspectTool,
    loraImportTool,
    datasetExportTool,
    datasetCollectTool,
    improveRunTool,
    improveStatusTool,
    captionWriteTool,
    captionLintTool,
    datasetAnalyzeTool,
    datasetRebalanceTool,
    datasetReportTool,
    loraTrainTool,
    loraStatusTool,
    loraCancelTool,
    jobStatusTool,
  ] as const;
}

/** Each tool by its name, for calls whose input and output types come from the tool's schemas (src/agent/improve/call.ts). */
export type ToolsByName = { [T in ReturnType<typeof toolList>[number] as T['name']]: T };

/**
 * Every tool loraloop offers. Faces (MCP, CLI, agent, Slack, nightly) adapt this one list.
 * Add a tool by writing src/tools/<name>.ts and listing it here.
 */
export function allTools(): ToolDefinition[] {
  return [...toolList()] as unknown as ToolDefinition[];
}
