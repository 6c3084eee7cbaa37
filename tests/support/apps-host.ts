import { build } from 'esbuild';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The host page (tests/support/apps-host/host.ts bundled for the browser), served on loopback. */
export async function startAppsHost(): Promise<{ url: string; close: () => Promise<void> }> {
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./apps-host/host.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const script = out.outputFiles[0]?.text ?? '';
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<style>html,body{margin:0;height:100%;background:#0b0b0f}#frame,#frame iframe{width:100%;height:100%;border:0;display:block}</style></head>
<body><div id="frame"></div><script type="module">${script.replace(/<\/script/gi, '<\\/script')}</script></body></html>`;
  const srv = createServer((req, res) => {
    if (req.url === '/' || req.url === '/host.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/host.html`, close: () => new Promise<void>((r) => srv.close(() => r())) };
}
