import type { McpUiResourceMeta, McpUiToolMeta } from '@modelcontextprotocol/ext-apps';
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server';
import { BACKGROUND_STYLES } from '../../../cover/render/backgrounds.js';
import { buildCoverStudioHtml } from './document.js';
import { loadInlineLibrary } from './library.js';

/** The MCP Apps view (the `io.modelcontextprotocol/ui` extension) that shows covers and batches in the chat. */
export const COVER_STUDIO_URI = 'ui://loraloop/cover-studio.html';

/** The tools whose results the view renders. */
export const COVER_STUDIO_TOOLS: ReadonlySet<string> = new Set(['cover_generate', 'cover_make', 'cover_batch']);

/**
 * The `_meta` that links a tool to the view: `ui.resourceUri`, plus the older flat `ui/resourceUri` key that
 * ext-apps' `registerAppTool` also writes, so hosts of either generation find it. Hosts without the extension
 * ignore `_meta` and keep today's result (text, preview, links).
 */
export function coverStudioToolMeta(): Record<string, unknown> {
  const ui: McpUiToolMeta = { resourceUri: COVER_STUDIO_URI };
  return { ui, [RESOURCE_URI_META_KEY]: COVER_STUDIO_URI };
}

/**
 * What the view may load, for the host's Content Security Policy: images come from the signed download URLs,
 * so the face's own origin is a resource domain; over stdio there is none and images come as data: URLs.
 */
function resourceMeta(publicBaseUrl: string | undefined): McpUiResourceMeta {
  const origin = publicBaseUrl ? new URL(publicBaseUrl).origin : undefined;
  return { prefersBorder: true, csp: { resourceDomains: origin ? [origin] : [], connectDomains: [] } };
}

export interface CoverStudio {
  /** The entry resources/list shows. */
  listing(): { uri: string; name: string; title: string; description: string; mimeType: string; _meta: { ui: McpUiResourceMeta } };
  /** The resources/read answer: one self-contained HTML document. */
  read(): { contents: Array<{ uri: string; mimeType: string; text: string; _meta: { ui: McpUiResourceMeta } }> };
}

/** The cover studio for one MCP face; the document is built on first use and kept (it never changes in a process). */
export function createCoverStudio(o: { publicBaseUrl?: string; version: string }): CoverStudio {
  let html: string | undefined;
  const ui = resourceMeta(o.publicBaseUrl);
  const doc = (): string => (html ??= buildCoverStudioHtml(loadInlineLibrary(), { name: 'loraloop cover studio', version: o.version, styles: [...BACKGROUND_STYLES] }));
  return {
    listing: () => ({
      uri: COVER_STUDIO_URI,
      name: 'cover-studio',
      title: 'loraloop cover studio',
      description: 'Interactive view of covers and draft batches: rate, generate again, pick drafts (MCP Apps).',
      mimeType: RESOURCE_MIME_TYPE,
      _meta: { ui },
    }),
    read: () => ({ contents: [{ uri: COVER_STUDIO_URI, mimeType: RESOURCE_MIME_TYPE, text: doc(), _meta: { ui } }] }),
  };
}
