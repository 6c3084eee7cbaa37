import { coverCritiqueTool } from '../../tools/cover_critique.js';
import { backendsStatusTool } from '../../tools/backends_status.js';
import { checkpointStatsTool } from '../../tools/checkpoint_stats.js';
import { coverBatchTool } from '../../tools/cover_batch.js';
import { coverGenerateTool } from '../../tools/cover_generate.js';
import { coverMakeTool } from './cover_make.js';
import { draftsSelectTool } from '../../tools/drafts_select.js';
import { loraDiscoverTool } from '../../tools/lora_discover.js';
import { coverRateTool } from '../../tools/cover_rate.js';
import { coverRouteTool } from '../../tools/cover_route.js';
import { logoRegisterTool } from '../../tools/logo_register.js';
import { datasetExportTool } from '../../tools/dataset_export.js';
import { datasetCollectTool } from '../../tools/dataset_collect.js';
import { improveRunTool } from './improve_run.js';
import { improveStatusTool } from './improve_status.js';
import { captionLintTool } from '../../tools/caption_lint.js';
import { captionWriteTool } from '../../tools/caption_write.js';
import { datasetAnalyzeTool } from '../../tools/dataset_analyze.js';
import { datasetRebalanceTool } from '../../tools/dataset_rebalance.js';
import { datasetReportTool } from '../../tools/dataset_report.js';
import { loraActivateTool } from '../../tools/lora_activate.js';
import { loraCancelTool } from '../../tools/lora_cancel.js';
import { loraCreateTool } from '../../tools/lora_create.js';
import { loraDeleteTool } from '../../tools/lora_delete.js';
import { loraImportTool } from '../../tools/lora_import.js';
import { loraInspectTool } from '../../tools/lora_inspect.js';
import { loraListTool } from '../../tools/lora_list.js';
import { loraStatusTool } from '../../tools/lora_status.js';
import { loraTrainTool } from '../../tools/lora_train.js';
import { loraUploadImagesTool } from '../../tools/lora_upload_images.js';
import { jobStatusTool } from '../../tools/job_status.js';
import { loraUploadUrlsTool } from '../../tools/lora_upload_urls.js';

/**
 * Every tool loraloop offers, each with its own types: its literal name and its input and output schemas.
 * It lives in the agent layer, the lowest that sees every tool (src/tools/ and src/agent/tools/), so the
 * agent's tool-to-tool calls are typed by it (ToolsByName); src/all-tools.ts serves it to the faces.
 */
export function toolList() {
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
