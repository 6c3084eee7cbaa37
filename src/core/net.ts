/**
 * SSRF-safe download of user-given URLs (dataset images, LoRA files).
 *
 * A URL a user or a model hands us must not be a way to reach the machine's own network: the cloud
 * metadata endpoint, a database on 10.x, the ComfyUI box next door. So, per hop:
 * 1. only `https:` (plain `http:` only with `allowPrivate` or for a trusted origin);
 * 2. the host name is resolved once and EVERY returned address must be global unicast (ipaddr.js);
 * 3. the connection is made to the address we checked: node:http(s) `request` gets a `lookup` that
 *    returns it, so a second DNS answer (DNS rebinding) can never swap it;
 * 4. redirects are followed by hand (at most 3), each new URL going through 1-3 again;
 * 5. the body is counted while it streams and the socket is destroyed past `maxBytes`;
 * 6. one deadline covers the whole download (all hops);
 * 7. the type is sniffed from the magic bytes, never trusted from Content-Type.
 *
 * `trustedOrigins` (backends the operator configured: REPLICATE_BASE_URL, COMFYUI_URLS) skip rules 1-2;
 * `allowPrivate` (LORALOOP_ALLOW_PRIVATE_URLS=1, for local development and tests) lifts them everywhere.
 *
 * There is deliberately no `fetch` injection: WHATWG fetch cannot pin the connected address, which is
 * the point of this module. Tests play servers on 127.0.0.1 and inject `lookup` instead.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { LoraloopError } from './errors.js';

/** What the first bytes say a file is. */
export type SniffedType = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'heif' | 'tiff' | 'safetensors' | 'unknown';

/** The image kinds {@link sniffType} recognises. */
export const IMAGE_TYPES: ReadonlySet<SniffedType> = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif', 'tiff']);

const MIME: Record<SniffedType, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heif: 'image/heif',
  tiff: 'image/tiff',
  safetensors: 'application/octet-stream',
  unknown: 'application/octet-stream',
};

/** MIME type for a sniffed kind (`application/octet-stream` when unknown). */
export function mimeOf(type: SniffedType): string {
  return MIME[type];
}

const ascii = (b: Buffer, start: number, end: number): string => b.toString('latin1', start, end);

/**
 * Sniff the file type from magic bytes. safetensors = 8-byte little-endian header length N, then a JSON
 * header starting with `{`; N must fit in the buffer when the buffer holds the whole file.
 */
export function sniffType(b: Buffer): SniffedType {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4 && (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*')) return 'tiff';
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp') {
    // ISO-BMFF: major brand at 8, compatible brands after the minor version (box size bounds the list).
    const boxSize = Math.min(b.readUInt32BE(0), b.length, 64);
    const brands = [ascii(b, 8, 12)];
    for (let i = 16; i + 4 <= boxSize; i += 4) brands.push(ascii(b, i, i + 4));
    if (brands.some((x) => x === 'avif' || x === 'avis')) return 'avif';
    if (brands.some((x) => ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(x))) return 'heif';
  }
  if (b.length >= 10 && b[8] === 0x7b /* { */) {
    const n = b.readBigUInt64LE(0);
    if (n >= 2n && n <= 100_000_000n && 8n + n <= BigInt(b.length)) return 'safetensors';
  }
  return 'unknown';
}

/** Why an address is refused, or null when it is global unicast. */
export function addressProblem(address: string): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns IPv4-mapped IPv6 (::ffff:10.0.0.5) into the IPv4 it carries.
    ip = ipaddr.process(address.replace(/^\[|\]$/g, ''));
  } catch {
    return 'not a valid IP address';
  }
  const range = ip.range();
  if (range === 'unicast') return null;
  if (ip.kind() === 'ipv4' && ip.toString() === '169.254.169.254') return 'the cloud metadata address';
  const names: Record<string, string> = {
    private: 'a private address',
    loopback: 'a loopback address',
    linkLocal: 'a link-local address',
    uniqueLocal: 'a unique-local (private) address',
    carrierGradeNat: 'a carrier-grade NAT (shared) address',
    multicast: 'a multicast address',
    unspecified: 'an unspecified address',
    broadcast: 'the broadcast address',
  };
  return names[range] ?? `a special-purpose address (${range})`;
}

/** Options for {@link createSafeFetcher}. */
export interface SafeFetcherOptions {
  /** Lift the https-only and public-address rules (LORALOOP_ALLOW_PRIVATE_URLS=1; local dev and tests). */
  allowPrivate: boolean;
  /** Origins of configured backends (e.g. `https://api.replicate.com`, `http://gpu1:8188`) that skip the rules. */
  trustedOrigins?: string[];
  /** Default size cap in bytes for a download. */
  maxBytes: number;
  /** Deadline for the whole download, all redirects included. */
  timeoutMs: number;
  /** DNS resolver returning every address of a host (default: the system resolver). Injected by tests. */
  lookup?: (host: string) => Promise<string[]>;
  /** Extra request headers (e.g. User-Agent). Never put secrets here: they would go to any host. */
  headers?: Record<string, string>;
}

/** Per-download options. */
export interface DownloadOptions {
  /** What the caller expects; the sniffed type must match ('any' accepts everything). Default 'any'. */
  accept?: 'image' | 'safetensors' | 'any';
  /** Size cap for this download (default: the fetcher's). */
  maxBytes?: number;
  /** Cancels the download (CANCELED). */
  signal?: AbortSignal;
}

/** A finished download. */
export interface DownloadResult {
  bytes: Buffer;
  /** The Content-Type the server sent, or the sniffed type's MIME when it sent none. */
  contentType: string;
  /** The URL after redirects. */
  finalUrl: string;
  /** The type according to the magic bytes. */
  sniffed: SniffedType;
}

/** Downloads with the SSRF rules applied. */
export interface SafeFetcher {
  download(url: string, opts?: DownloadOptions): Promise<DownloadResult>;
}

const MAX_REDIRECTS = 3;
const PRIVATE_HINT = 'Set LORALOOP_ALLOW_PRIVATE_URLS=1 for local development.';

/** `origin + path` only: query strings may hold signatures or tokens, so they stay out of messages. */
function shown(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

interface Hop {
  status: number;
  location: string | undefined;
  contentType: string;
  body: Buffer | undefined;
}

/** Create a downloader that enforces the SSRF rules. No I/O happens until `download` is called. */
export function createSafeFetcher(options: SafeFetcherOptions): SafeFetcher {
  const trusted = new Set<string>();
  for (const o of options.trustedOrigins ?? []) {
    try {
      trusted.add(new URL(o).origin);
    } catch {
      // An unparsable configured URL is the config loader's to report; it simply trusts nothing here.
    }
  }
  const resolveHost =
    options.lookup ??
    (async (host: string): Promise<string[]> =>
      (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address));

  /** Check scheme and addresses for one hop; returns the address to connect to. */
  async function vet(u: URL): Promise<string> {
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      throw new LoraloopError('URL_NOT_ALLOWED', `${u.protocol}// URLs are not downloaded (${shown(u)}).`, {
        hint: 'Give an https:// URL.',
      });
    }
    const isTrusted = trusted.has(u.origin);
    const strict = !options.allowPrivate && !isTrusted;
    if (strict && u.protocol !== 'https:') {
      throw new LoraloopError(
        'URL_NOT_ALLOWED',
        `${shown(u)} is plain http; loraloop only downloads from public https URLs.`,
        { hint: `Use the https:// address. ${PRIVATE_HINT}` },
      );
    }
    const host = u.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    if (ipaddr.isValid(host)) {
      addresses = [host];
    } else {
      try {
        addresses = await resolveHost(host);
      } catch (e) {
        throw new LoraloopError('UPSTREAM_UNREACHABLE', `Could not resolve ${host} (${shown(u)}).`, {
          hint: 'Check the host name in the URL.',
          cause: e,
        });
      }
    }
    const first = addresses[0];
    if (first === undefined) {
      throw new LoraloopError('UPSTREAM_UNREACHABLE', `${host} has no address (${shown(u)}).`, {
        hint: 'Check the host name in the URL.',
      });
    }
    if (strict) {
      for (const a of addresses) {
        const problem = addressProblem(a);
        if (problem) {
          const via = a === host ? '' : ` resolves to ${a},`;
          throw new LoraloopError(
            'URL_NOT_ALLOWED',
            `${shown(u)}${via || ` is`} ${problem}; loraloop only downloads from public https URLs.`,
            { hint: PRIVATE_HINT, details: { host, address: a } },
          );
        }
      }
    }
    return first;
  }

  /** One request to a vetted address. Redirect bodies are discarded; 2xx bodies are capped. */
  function requestOnce(u: URL, address: string, cap: number, signal: AbortSignal, kind: string): Promise<Hop> {
    const family = address.includes(':') ? 6 : 4;
    // Pin: whatever DNS says now, the socket goes to the address we checked.
    const pinned: LookupFunction = (_hostname, opts, cb) => {
      if (opts.all) cb(null, [{ address, family }]);
      else cb(null, address, family);
    };
    const mod = u.protocol === 'https:' ? https : http;
    return new Promise<Hop>((resolve, reject) => {
      const req = mod.request(
        u,
        {
          method: 'GET',
          lookup: pinned,
          agent: false, // no pooled socket from an earlier, differently vetted connection
          signal,
          headers: { accept: '*/*', 'accept-encoding': 'identity', ...(options.headers ?? {}) },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const contentType = String(res.headers['content-type'] ?? '');
          const location = res.headers.location;
          if (status < 200 || status >= 300) {
            res.resume();
            resolve({ status, location, contentType, body: undefined });
            return;
          }
          const tooBig = (): LoraloopError =>
            new LoraloopError(
              kind === 'image' ? 'IMAGE_TOO_LARGE' : 'URL_NOT_ALLOWED',
              `The file at ${shown(u)} is larger than the ${formatBytes(cap)} download limit.`,
              { hint: 'Use a smaller file, or download it yourself and add it from disk.', details: { maxBytes: cap } },
            );
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > cap) {
            req.destroy();
            reject(tooBig());
            return;
          }
          const chunks: Buffer[] = [];
          let total = 0;
          res.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > cap) {
              req.destroy();
              reject(tooBig());
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => resolve({ status, location, contentType, body: Buffer.concat(chunks, total) }));
          res.on('error', reject);
          res.on('close', () => {
            if (!res.complete) reject(new Error('the connection closed before the body was complete'));
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  async function download(url: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
    const accept = opts.accept ?? 'any';
    const cap = opts.maxBytes ?? options.maxBytes;
    let current: URL;
    try {
      current = new URL(url);
    } catch {
      throw new LoraloopError('INVALID_INPUT', `"${url.slice(0, 200)}" is not a valid URL.`, {
        hint: 'Give a full https:// URL.',
      });
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeoutMs);
    const onCallerAbort = (): void => controller.abort();
    if (opts.signal?.aborted) controller.abort();
    opts.signal?.addEventListener('abort', onCallerAbort, { once: true });

    /** The error for an aborted download: our deadline or the caller's signal. */
    const abortError = (cause?: unknown): LoraloopError =>
      timedOut
        ? new LoraloopError('TIMEOUT', `Downloading ${shown(current)} took longer than ${options.timeoutMs} ms.`, {
            hint: 'Try again later or use a faster host.',
            cause,
          })
        : new LoraloopError('CANCELED', `The download of ${shown(current)} was canceled.`, { cause });
    /** DNS has no signal of its own: race it against the deadline. */
    const untilAbort = <T>(p: Promise<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (controller.signal.aborted) return reject(abortError());
        const onAbort = (): void => reject(abortError());
        controller.signal.addEventListener('abort', onAbort, { once: true });
        p.then(resolve, reject).finally(() => controller.signal.removeEventListener('abort', onAbort));
      });

    try {
      for (let hop = 0; ; hop++) {
        const address = await untilAbort(vet(current));
        let res: Hop;
        try {
          res = await requestOnce(current, address, cap, controller.signal, accept);
        } catch (e) {
          if (e instanceof LoraloopError) throw e;
          if (controller.signal.aborted) throw abortError(e);
          throw new LoraloopError(
            'UPSTREAM_UNREACHABLE',
            `Could not download ${shown(current)}: ${e instanceof Error ? e.message : String(e)}.`,
            { hint: 'Check that the URL works in a browser.', cause: e },
          );
        }
        if ([301, 302, 303, 307, 308].includes(res.status)) {
          if (!res.location) {
            throw new LoraloopError('UPSTREAM_ERROR', `${shown(current)} redirected (${res.status}) without a Location.`, {
              hint: 'Use the final URL of the file.',
            });
          }
          if (hop >= MAX_REDIRECTS) {
            throw new LoraloopError('URL_NOT_ALLOWED', `${shown(new URL(url))} redirected more than ${MAX_REDIRECTS} times.`, {
              hint: 'Use the final URL of the file.',
            });
          }
          current = new URL(res.location, current);
          continue;
        }
        if (!res.body) {
          throw new LoraloopError('UPSTREAM_ERROR', `${shown(current)} answered HTTP ${res.status}.`, {
            hint: res.status === 404 ? 'Check the URL: the file is not there.' : 'Check the URL or try again later.',
            details: { status: res.status },
          });
        }
        const sniffed = sniffType(res.body);
        if (accept === 'image' && !IMAGE_TYPES.has(sniffed)) {
          const what = sniffed === 'unknown' ? `Content-Type ${res.contentType || 'none'}` : sniffed;
          throw new LoraloopError('UNSUPPORTED_IMAGE', `The file at ${shown(current)} is not an image loraloop reads (${what}).`, {
            hint: 'Give a JPEG, PNG, WebP, GIF, AVIF/HEIF or TIFF URL.',
          });
        }
        if (accept === 'safetensors' && sniffed !== 'safetensors') {
          throw new LoraloopError('BAD_SAFETENSORS', `The file at ${shown(current)} is not a .safetensors file.`, {
            hint: 'Give the URL of the LoRA .safetensors file itself (not a web page about it).',
          });
        }
        return {
          bytes: res.body,
          contentType: res.contentType || mimeOf(sniffed),
          finalUrl: current.toString(),
          sniffed,
        };
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  return { download };
}
