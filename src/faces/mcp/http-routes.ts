import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../../app.js';
import { isLoraloopError } from '../../core/errors.js';
import { artifactIdFrom } from '../../server/artifacts.js';
import { storedBlobPath } from '../../store/stored-blob.js';
import { consentPage } from '../../server/auth/consent.js';
import type { EmbeddedAuth } from '../../server/auth/embedded.js';
import type { AuthGate } from '../../server/auth/gate.js';
import type { LinkSigner } from '../../core/links.js';
import { acceptUpload, MAX_UPLOAD_BYTES, UPLOAD_PREFIX } from '../../dataset/uploads.js';

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

/** GET a signed download link: 403 for a tampered or expired link, 404 for a file that is not (or no longer) there. */
export async function serveDownload(app: App, links: LinkSigner, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'Downloads are GET requests.');
  const verdict = links.verify(url.pathname, url.searchParams);
  if (verdict === 'bad') return text(res, 403, 'This download link is not valid (altered or incomplete). Ask the tool again for a fresh link.');
  if (verdict === 'expired') return text(res, 403, 'This download link has expired. Ask the tool again (or read the loraloop:// resource) for a fresh link.');
  const id = artifactIdFrom(url.pathname);
  const rec = id ? await app.services.store.artifacts.get(id) : undefined;
  let file: string | undefined;
  try {
    // A blob is read by hash: its recorded path is the publishing host's, and this may be another host.
    file = rec ? await storedBlobPath(app.services.store.blobs, { sha256: rec.blob_sha256, path: rec.path }) : undefined;
  } catch (e) {
    if (!isLoraloopError(e)) throw e;
    if (e.code !== 'NOT_FOUND') return text(res, 502, e.toSentence());
  }
  const st = file ? await stat(file).catch(() => undefined) : undefined;
  if (!rec || !file || !st?.isFile()) return text(res, 404, 'That file is no longer on the server.');
  const headers: Record<string, string> = {
    'content-type': rec.mime_type,
    'content-length': String(st.size),
    'content-disposition': `inline; filename="${rec.name.replace(/[^\w.-]+/g, '_')}"`,
    'cache-control': 'private, max-age=300',
    'x-content-type-options': 'nosniff',
  };
  // A report is HTML from our origin: sandbox it so it cannot act as this server in the browser.
  if (rec.mime_type.startsWith('text/html')) headers['content-security-policy'] = "sandbox; default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'";
  res.writeHead(200, headers);
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}

/** Read at most `limit` bytes; undefined when the body is larger (the rest is not read into memory). */
async function readCapped(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

const STATUS_BY_CODE: Record<string, number> = { UNSUPPORTED_IMAGE: 415, IMAGE_TOO_LARGE: 413, DUPLICATE_IMAGE: 409, CONFLICT: 409, NOT_FOUND: 404 };

/** PUT an image to a signed, single-use upload link. Answers JSON: what was added, or why not. */
export async function serveUpload(app: App, links: LinkSigner, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const reply = (status: number, body: Record<string, unknown>) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'PUT') return reply(405, { ok: false, error: 'Upload with PUT and the image file as the body.' });
  const verdict = links.verify(url.pathname, url.searchParams);
  if (verdict !== 'ok') return reply(403, { ok: false, error: verdict === 'expired' ? 'This upload link has expired; ask lora_upload_urls for new ones.' : 'This upload link is not valid.' });
  const slotId = url.pathname.slice(UPLOAD_PREFIX.length);
  const declared = Number(req.headers['content-length'] ?? 0);
  const bytes = declared > MAX_UPLOAD_BYTES ? undefined : await readCapped(req, MAX_UPLOAD_BYTES);
  if (!bytes) return reply(413, { ok: false, error_code: 'IMAGE_TOO_LARGE', error: `An upload may be at most ${MAX_UPLOAD_BYTES / 1048576} MB.` });
  const name = url.searchParams.get('name') ?? undefined;
  try {
    const r = await acceptUpload(app.services, slotId, bytes, name);
    return reply(r.ok ? 201 : (STATUS_BY_CODE[r.error_code ?? ''] ?? 422), { ...r });
  } catch (e) {
    if (isLoraloopError(e)) return reply(STATUS_BY_CODE[e.code] ?? 400, { ok: false, error_code: e.code, error: e.toSentence() });
    throw e;
  }
}

/** The consent step of the embedded authorization server: GET shows the page, POST checks the operator token. */
export async function serveConsent(auth: EmbeddedAuth, gate: AuthGate, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  let view;
  try {
    view = await auth.interaction(req, res);
  } catch {
    return text(res, 400, 'This sign-in request has expired or is unknown. Start the connection again from your MCP client.');
  }
  const page = (status: number, error?: string) => {
    // form-action also governs the redirect after the POST, so the client's redirect origin must be allowed.
    let back = '';
    try {
      back = ` ${new URL(view.redirectUri).origin}`;
    } catch {
      back = '';
    }
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY', 'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${back}; frame-ancestors 'none'` });
    res.end(consentPage(view, path, error));
  };
  if (req.method === 'GET') return page(200);
  if (req.method !== 'POST') return text(res, 405, 'Method not allowed.');
  const body = (await readCapped(req, 16 * 1024)) ?? Buffer.alloc(0);
  const token = new URLSearchParams(body.toString('utf8')).get('token') ?? '';
  if (!gate.isOperatorSecret(token)) {
    // A wrong guess costs time; the page says what is expected.
    await new Promise((r) => setTimeout(r, 400));
    return page(401, 'That is not this server’s LORALOOP_HTTP_TOKEN. Ask whoever runs loraloop for it.');
  }
  await auth.approve(req, res);
}
