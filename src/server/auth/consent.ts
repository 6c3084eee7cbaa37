import type { InteractionView } from './embedded.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function hostOf(uri: string): string {
  try {
    return new URL(uri).host || uri;
  } catch {
    return uri;
  }
}

/**
 * The operator's consent page: who asks, where the browser goes back to, and one password field for
 * LORALOOP_HTTP_TOKEN. Self-contained (no scripts, no outside requests), so it works behind any proxy.
 */
export function consentPage(v: InteractionView, action: string, error?: string): string {
  const who = v.clientName ? `${esc(v.clientName)} (${esc(v.clientId)})` : esc(v.clientId);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connect to loraloop</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { max-width: 32rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }
  dt { font-weight: 600; } dd { margin: 0 0 .6rem; word-break: break-all; }
  input, button { font: inherit; padding: .5rem .7rem; }
  input { width: 100%; box-sizing: border-box; margin: .3rem 0 1rem; }
  .error { color: #b00020; font-weight: 600; }
</style></head>
<body>
<h1>Connect a client to loraloop</h1>
<p>A client asks to use this loraloop server's tools (covers, LoRAs, datasets) on your behalf.</p>
<dl>
  <dt>Client</dt><dd>${who}</dd>
  <dt>Returns to</dt><dd>${esc(hostOf(v.redirectUri))}</dd>
  <dt>Access</dt><dd>${esc(v.scopes.join(', ') || 'mcp')} on ${esc(v.resource)}</dd>
</dl>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="${esc(action)}">
  <label for="token">Operator token (LORALOOP_HTTP_TOKEN)</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Approve</button>
</form>
</body></html>`;
}
