/**
 * A minimal MCP Apps host page, as a chat client embeds a view: ext-apps' AppBridge talks to the view in a
 * sandboxed iframe over its PostMessageTransport, and forwards the view's tool calls and resource reads to the
 * test's real MCP client (exposed by Playwright as window functions), much as a hosted chat proxies them to the
 * server. Bundled for the browser with esbuild by tests/support/apps-host.ts.
 */
import { AppBridge, PostMessageTransport, type McpUiHostContext, type McpUiResourceCsp } from '@modelcontextprotocol/ext-apps/app-bridge';
import type { CallToolRequest, CallToolResult, ReadResourceRequest, ReadResourceResult } from '@modelcontextprotocol/client';

interface HostInput {
  html: string;
  csp: McpUiResourceCsp | undefined;
  input: Record<string, unknown>;
  result: CallToolResult;
  theme: 'light' | 'dark';
}

declare global {
  interface Window {
    startHost(o: HostInput): Promise<void>;
    setHostTheme(theme: 'light' | 'dark'): void;
    hostCallTool(p: CallToolRequest['params']): Promise<CallToolResult>;
    hostReadResource(p: ReadResourceRequest['params']): Promise<ReadResourceResult>;
  }
}

/** The policy a host derives from the resource's `_meta.ui.csp`: nothing but what the view declared. */
function withCsp(html: string, csp: McpUiResourceCsp | undefined): string {
  const img = ['data:', 'blob:', ...(csp?.resourceDomains ?? [])].join(' ');
  const connect = csp?.connectDomains?.length ? csp.connectDomains.join(' ') : "'none'";
  const policy = `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src ${img}; font-src data:; connect-src ${connect}`;
  return html.replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="${policy}">`);
}

let bridge: AppBridge | undefined;
let context: McpUiHostContext = {};

window.startHost = async (o) => {
  const iframe = document.createElement('iframe');
  // No allow-same-origin: the view runs in an opaque origin, as in a real host's sandbox.
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.title = 'loraloop cover studio';
  document.getElementById('frame')?.append(iframe);
  context = { theme: o.theme, platform: 'web', displayMode: 'inline', locale: 'en-US' };
  bridge = new AppBridge(null, { name: 'loraloop-test-host', version: '1.0.0' }, { serverTools: {}, serverResources: {} }, { hostContext: context });
  bridge.oncalltool = (p) => window.hostCallTool(p);
  bridge.onreadresource = (p) => window.hostReadResource(p);
  bridge.oninitialized = () => {
    void bridge?.sendToolInput({ arguments: o.input });
    void bridge?.sendToolResult(o.result);
  };
  const win = iframe.contentWindow;
  if (!win) throw new Error('no iframe window');
  // Listen before the view loads: it says ui/initialize as soon as its script runs.
  await bridge.connect(new PostMessageTransport(win, win));
  iframe.srcdoc = withCsp(o.html, o.csp);
};

window.setHostTheme = (theme) => {
  context = { ...context, theme };
  bridge?.setHostContext(context);
};
