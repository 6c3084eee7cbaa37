import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { addressProblem, createSafeFetcher, sniffType } from '../../src/core/net.js';
import { LoraloopError } from '../../src/core/errors.js';

/** A tiny image server on 127.0.0.1 playing the "internet". */
let server: http.Server;
let origin: string;
let port: number;
let png: Buffer;
const lookups: string[] = [];

async function failure(p: Promise<unknown>): Promise<LoraloopError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LoraloopError) return e;
    throw e;
  }
  throw new Error('expected a LoraloopError, got a result');
}

beforeAll(async () => {
  png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f80' } }).png().toBuffer();
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/img.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(png);
    } else if (u.pathname === '/redirect') {
      const n = Number(u.searchParams.get('n') ?? '0');
      res.writeHead(302, { location: n > 0 ? `/redirect?n=${n - 1}` : '/img.png' });
      res.end();
    } else if (u.pathname === '/to') {
      res.writeHead(301, { location: u.searchParams.get('url') ?? '/' });
      res.end();
    } else if (u.pathname === '/big-declared') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(10_000_000) });
      res.write(png);
      // never finishes: the client must stop on the header alone
    } else if (u.pathname === '/big-stream') {
      res.writeHead(200, { 'content-type': 'image/png' }); // chunked, no length
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = (): void => {
        while (sent < 50 && res.write(chunk)) sent++;
        if (sent < 50) res.once('drain', pump);
        else res.end();
      };
      res.write(png);
      pump();
    } else if (u.pathname === '/slow') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(png.subarray(0, 10)); // then hang
    } else if (u.pathname === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>not an image</html>');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const base = { maxBytes: 1_000_000, timeoutMs: 5_000 };

describe('addressProblem', () => {
  it('accepts public unicast and names every refused range', () => {
    expect(addressProblem('93.184.216.34')).toBeNull();
    expect(addressProblem('2606:4700:4700::1111')).toBeNull();
    expect(addressProblem('10.0.0.5')).toBe('a private address');
    expect(addressProblem('192.168.1.1')).toBe('a private address');
    expect(addressProblem('172.16.0.1')).toBe('a private address');
    expect(addressProblem('127.0.0.1')).toBe('a loopback address');
    expect(addressProblem('::1')).toBe('a loopback address');
    expect(addressProblem('169.254.169.254')).toBe('the cloud metadata address');
    expect(addressProblem('169.254.1.1')).toBe('a link-local address');
    expect(addressProblem('fe80::1')).toBe('a link-local address');
    expect(addressProblem('fd00::1')).toBe('a unique-local (private) address');
    expect(addressProblem('100.64.0.1')).toBe('a carrier-grade NAT (shared) address');
    expect(addressProblem('224.0.0.1')).toBe('a multicast address');
    expect(addressProblem('0.0.0.0')).toBe('an unspecified address');
    expect(addressProblem('::')).toBe('an unspecified address');
    // IPv4-mapped IPv6 carries the IPv4 it wraps.
    expect(addressProblem('::ffff:10.0.0.5')).toBe('a private address');
    expect(addressProblem('::ffff:169.254.169.254')).toBe('the cloud metadata address');
    expect(addressProblem('::ffff:8.8.8.8')).toBeNull();
  });
});

describe('createSafeFetcher: refusals (no connection is made)', () => {
  it('refuses a host that resolves to a private address, naming it and the switch', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: false, lookup: async () => ['10.0.0.5'] });
    const e = await failure(f.download('https://intranet.example/cat.png'));
    expect(e.code).toBe('URL_NOT_ALLOWED');
    expect(e.message).toContain('resolves to 10.0.0.5, a private address; loraloop only downloads from public https URLs');
    expect(e.toSentence()).toContain('LORALOOP_ALLOW_PRIVATE_URLS=1');
  });

  it('checks every address DNS returns, not just the first', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: false, lookup: async () => ['93.184.216.34', '127.0.0.1'] });
    const e = await failure(f.download('https://mixed.example/a.png'));
    expect(e.code).toBe('URL_NOT_ALLOWED');
    expect(e.message).toContain('127.0.0.1, a loopback address');
  });

  it('refuses literal private IPs, the metadata endpoint, http and odd schemes', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: false, lookup: async () => ['93.184.216.34'] });
    expect((await failure(f.download('https://169.254.169.254/latest/meta-data/'))).message).toContain(
      'the cloud metadata address',
    );
    expect((await failure(f.download('https://[::ffff:7f00:1]/x'))).code).toBe('URL_NOT_ALLOWED');
    expect((await failure(f.download('https://2130706433/x'))).message).toContain('loopback'); // 127.0.0.1 in disguise
    const plain = await failure(f.download('http://public.example/a.png'));
    expect(plain.code).toBe('URL_NOT_ALLOWED');
    expect(plain.message).toContain('plain http');
    expect((await failure(f.download('file:///etc/passwd'))).code).toBe('URL_NOT_ALLOWED');
    expect((await failure(f.download('not a url'))).code).toBe('INVALID_INPUT');
  });

  it('refuses the local test server itself when private addresses are not allowed', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: false });
    expect((await failure(f.download(`${origin}/img.png`))).code).toBe('URL_NOT_ALLOWED');
  });
});

describe('createSafeFetcher: downloads', () => {
  it('downloads and sniffs an image when private addresses are allowed', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: true });
    const r = await f.download(`${origin}/img.png`, { accept: 'image' });
    expect(r.sniffed).toBe('png');
    expect(r.contentType).toBe('image/png');
    expect(r.bytes.equals(png)).toBe(true);
  });

  it('connects to the address it vetted, never asking DNS again (pinning)', async () => {
    lookups.length = 0;
    const f = createSafeFetcher({
      ...base,
      allowPrivate: true,
      lookup: async (h) => {
        lookups.push(h);
        return ['127.0.0.1'];
      },
    });
    // `.invalid` can never resolve through the system resolver: success proves the pinned address was used.
    const r = await f.download(`http://cdn.loraloop.invalid:${port}/img.png`);
    expect(r.bytes.equals(png)).toBe(true);
    expect(r.finalUrl).toBe(`http://cdn.loraloop.invalid:${port}/img.png`);
    expect(lookups).toEqual(['cdn.loraloop.invalid']);
  });

  it('trusted origins (configured backends) skip the rules, but their redirects are checked again', async () => {
    const f = createSafeFetcher({
      ...base,
      allowPrivate: false,
      trustedOrigins: [`${origin}/v1`],
      lookup: async () => ['10.0.0.5'],
    });
    const r = await f.download(`${origin}/img.png`);
    expect(r.sniffed).toBe('png');
    const e = await failure(f.download(`${origin}/to?url=${encodeURIComponent('https://internal.example/x.png')}`));
    expect(e.code).toBe('URL_NOT_ALLOWED');
    expect(e.message).toContain('https://internal.example/x.png resolves to 10.0.0.5, a private address');
  });

  it('follows up to 3 redirects and refuses the 4th', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: true });
    const r = await f.download(`${origin}/redirect?n=2`); // 3 redirects in all
    expect(r.finalUrl).toBe(`${origin}/img.png`);
    const e = await failure(f.download(`${origin}/redirect?n=3`));
    expect(e.code).toBe('URL_NOT_ALLOWED');
    expect(e.message).toContain('more than 3 times');
  });

  it('enforces the size cap from Content-Length and while streaming, naming the cap', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: true, maxBytes: 1024 * 1024 });
    const declared = await failure(f.download(`${origin}/big-declared`, { accept: 'image' }));
    expect(declared.code).toBe('IMAGE_TOO_LARGE');
    expect(declared.message).toContain('1 MB');
    const streamed = await failure(f.download(`${origin}/big-stream`));
    expect(streamed.code).toBe('URL_NOT_ALLOWED');
    expect(streamed.message).toContain('larger than the 1 MB download limit');
  });

  it('times out a server that stops sending', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: true, timeoutMs: 300 });
    const e = await failure(f.download(`${origin}/slow`));
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toContain('300 ms');
  });

  it('refuses a web page when an image was asked for, and reports HTTP errors', async () => {
    const f = createSafeFetcher({ ...base, allowPrivate: true });
    const page = await failure(f.download(`${origin}/page.html`, { accept: 'image' }));
    expect(page.code).toBe('UNSUPPORTED_IMAGE');
    expect(page.message).toContain('text/html');
    expect((await failure(f.download(`${origin}/page.html`, { accept: 'safetensors' }))).code).toBe('BAD_SAFETENSORS');
    const missing = await failure(f.download(`${origin}/missing.png`));
    expect(missing.code).toBe('UPSTREAM_ERROR');
    expect(missing.message).toContain('404');
  });
});

describe('sniffType', () => {
  it('recognises images by magic bytes and safetensors by its header', async () => {
    const img = sharp({ create: { width: 4, height: 4, channels: 3, background: '#123' } });
    expect(sniffType(await img.clone().jpeg().toBuffer())).toBe('jpeg');
    expect(sniffType(await img.clone().png().toBuffer())).toBe('png');
    expect(sniffType(await img.clone().webp().toBuffer())).toBe('webp');
    expect(sniffType(await img.clone().gif().toBuffer())).toBe('gif');
    expect(sniffType(await img.clone().tiff().toBuffer())).toBe('tiff');
    expect(sniffType(await img.clone().avif().toBuffer())).toBe('avif');
    const header = Buffer.from(JSON.stringify({ __metadata__: { ss_network_module: 'networks.lora' } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    expect(sniffType(Buffer.concat([len, header, Buffer.alloc(16)]))).toBe('safetensors');
    expect(sniffType(Buffer.from('<html></html>'))).toBe('unknown');
    expect(sniffType(Buffer.alloc(0))).toBe('unknown');
  });
});
