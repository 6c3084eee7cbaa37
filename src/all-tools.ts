import { coverCritiqueTool } from './tools/cover_critique.js';
import { backendsStatusTool } from './tools/backends_status.js';
import { checkpointStatsTool } from './tools/checkpoint_stats.js';
import { coverBatchTool } from './tools/cover_batch.js';
import { coverGenerateTool } from './tools/cover_generate.js';
import { coverMakeTool } from './agent/tools/cover_make.js';
import { draftsSelectTool } from './tools/drafts_select.js';
import { loraDiscoverTool } from './tools/lora_discover.js';
import { coverRateTool } from './tools/cover_rate.js';
import { coverRouteTool } from './tools/cover_route.js';
import { logoRegisterTool } from './tools/logo_register.js';
import { datasetExportTool } from './tools/dataset_export.js';
import { datasetCollectTool } from './tools/dataset_collect.js';
import { improveRunTool } from './agent/tools/improve_run.js';
import { improveStatusTool } from './agent/tools/improve_status.js';
import { captionLintTool } from './tools/caption_lint.js';
import { captionWriteTool } from './tools/caption_write.js';
import { datasetAnalyzeTool } from './tools/dataset_analyze.js';
import { datasetRebalanceTool } from './tools/dataset_rebalance.js';
import { datasetReportTool } from './tools/dataset_report.js';
import { loraActivateTool } from './tools/lora_activate.js';
import { loraCancelTool } from './tools/lora_cancel.js';
import { loraCreateTool } from './tools/lora_create.js';
import { loraDeleteTool } from './tools/lora_delete.js';
import { loraImportTool } from './tools/lora_import.js';
import { loraInspectTool } from './tools/lora_inspect.js';
import { loraListTool } from './tools/lora_list.js';
import { loraStatusTool } from './tools/lora_status.js';
import { loraTrainTool } from './tools/lora_train.js';
import { loraUploadImagesTool } from './tools/lora_upload_images.js';
import { jobStatusTool } from './tools/job_status.js';
import { loraUploadUrlsTool } from './tools/lora_upload_urls.js';
import type { ToolDefinition } from './tools/types.js';

/**
 * Every tool loraloop offers. Faces (MCP, CLI, agent, Slack, nightly) adapt this one list.
 * Add a tool by writing src/tools/<name>.ts (src/agent/tools/ for one that drives the agent) and listing it here.
 */
export function allTools(): ToolDefinition[] {
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
  ] as unknown as ToolDefinition[];
}
