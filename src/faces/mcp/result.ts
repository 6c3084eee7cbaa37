import type { CallToolResult } from '@modelcontextprotocol/server';
import type { CommandResult } from '../../core/result.js';
import type { Logger } from '../../core/logger.js';
import type { ArtifactPublisher, PublishedArtifact } from '../../server/artifacts.js';
import { makePreview } from '../../server/preview.js';

/**
 * A CommandResult as an MCP tool result. `structuredContent` is the data plus `reasoning`, `next` and the
 * published `resources` (URI, signed URL, path), so a client that shows the model only structured content
 * loses nothing; `content` has the reasoning, a small preview of each image and a resource_link per file.
 */
export async function toMcpResult(result: CommandResult, publisher: ArtifactPublisher, logger: Logger): Promise<CallToolResult> {
  if (!result.success) {
    return {
      isError: true,
      content: [{ type: 'text', text: `${result.reasoning}${result.error.code ? ` (code ${result.error.code})` : ''}` }],
    };
  }
  const content: CallToolResult['content'] = [{ type: 'text', text: result.reasoning }];
  const resources: PublishedArtifact[] = [];
  for (const a of result.artifacts ?? []) {
    let p: PublishedArtifact;
    try {
      p = await publisher.publish(a);
    } catch (e) {
      logger.warn('artifact not published', { path: a.path, error: (e as Error).message });
      continue;
    }
    resources.push(p);
    if (a.kind === 'image') {
      try {
        const preview = await makePreview(await publisher.localFile({ path: a.path, blob_sha256: a.sha256 ?? null }));
        content.push({ type: 'image', data: preview.data.toString('base64'), mimeType: preview.mimeType });
      } catch {
        content.push({ type: 'text', text: `${p.name}: preview unavailable.` });
      }
    }
    content.push({
      type: 'resource_link',
      uri: p.uri,
      name: p.name,
      mimeType: p.mime_type,
      ...(p.title ? { title: p.title } : {}),
      ...(p.bytes !== null ? { size: p.bytes } : {}),
      description: p.url ? `Download (link valid for a limited time): ${p.url}` : `On the server at ${p.path}`,
    });
    if (p.url) content.push({ type: 'text', text: `${p.name}: ${p.url}` });
    else content.push({ type: 'text', text: `Full-size file: ${p.path}` });
  }
  const data = (result.data ?? {}) as Record<string, unknown>;
  const structured: Record<string, unknown> = { ...data, reasoning: result.reasoning };
  if (result.next) structured.next = result.next;
  if (resources.length) structured.resources = resources;
  return { content, structuredContent: structured };
}
