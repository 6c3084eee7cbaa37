/**
 * Feeds -> articles with their lead image: RSS 2.0 (and RSS 1.0/RDF), Atom and JSON Feed 1.0/1.1.
 *
 * One image per article: the article's own picture, chosen in this order because it is the order of
 * intent in the formats: an image enclosure (RSS `<enclosure>`, Atom `link rel="enclosure"`, JSON Feed
 * image attachments), then `media:content` (the widest one when several sizes are listed), then
 * `media:thumbnail`, then JSON Feed `image` and `banner_image`. Thumbnails come last because they are the
 * same picture, smaller. Relative URLs are resolved against the article link or the feed URL; only
 * http(s) URLs are kept.
 */
import { z } from 'zod';
import { LoraloopError } from '../../core/errors.js';
import { childOf, childrenOf, decodeEntities, parseXml, type XmlElement } from './xml.js';

export const MEDIA_NS = 'http://search.yahoo.com/mrss/';
export const ATOM_NS = 'http://www.w3.org/2005/Atom';
const RDF_NS = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
const RSS1_NS = 'http://purl.org/rss/1.0/';

export type FeedFormat = 'rss' | 'atom' | 'json';

/** One article of a feed. */
export interface FeedItem {
  /** Plain-text title (HTML tags removed, whitespace collapsed); '' when the item has none. */
  title: string;
  /** The article URL, or null. */
  link: string | null;
  /** The lead image URL, or null when the item has none. */
  image: string | null;
  /** Where the image came from: enclosure, media:content, media:thumbnail, image, banner_image. */
  image_source: string | null;
}

export interface ParsedFeed {
  format: FeedFormat;
  title: string | null;
  items: FeedItem[];
}

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|avif|heic|heif|tiff?)(?:$|[?#])/i;

/**
 * Plain text from a title that may carry HTML. RSS titles are often entity-encoded HTML, and CDATA titles
 * often hold references (`Bitcoin&#8217;s`), so references are decoded once more after the tags go.
 */
export function plainTitle(s: string): string {
  return decodeEntities(stripTags(s)).replace(/\s+/g, ' ').trim();
}

function stripTags(s: string): string {
  let out = '';
  let i = 0;
  // Strip tags with a scanner: a '<' followed by a letter, '/' or '!' opens a tag until the next '>'.
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    if (lt < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, lt);
    const next = s[lt + 1] ?? '';
    const gt = s.indexOf('>', lt);
    if (gt > 0 && /[A-Za-z/!]/.test(next)) {
      out += ' ';
      i = gt + 1;
    } else {
      out += '<';
      i = lt + 1;
    }
  }
  return out;
}

function absolute(url: string | undefined | null, base: string | null): string | null {
  if (!url) return null;
  const u = url.trim();
  if (!u) return null;
  try {
    const abs = base ? new URL(u, base) : new URL(u);
    return abs.protocol === 'http:' || abs.protocol === 'https:' ? abs.toString() : null;
  } catch {
    return null;
  }
}

function looksLikeImage(type: string | undefined, url: string | undefined, medium?: string): boolean {
  if (medium) return medium.toLowerCase() === 'image';
  if (type) return type.toLowerCase().startsWith('image/');
  return url ? IMAGE_EXT.test(url) : false;
}

interface Candidate {
  url: string | undefined;
  source: string;
  width: number;
}

/** media:content / media:thumbnail of an element, including those inside media:group. */
function mediaCandidates(el: XmlElement): { content: Candidate[]; thumbs: Candidate[] } {
  const content: Candidate[] = [];
  const thumbs: Candidate[] = [];
  const scan = (e: XmlElement): void => {
    for (const c of e.children) {
      if (c.ns !== MEDIA_NS) continue;
      if (c.local === 'group') scan(c);
      else if (c.local === 'content' && looksLikeImage(c.attrs.type, c.attrs.url, c.attrs.medium)) {
        content.push({ url: c.attrs.url, source: 'media:content', width: Number(c.attrs.width) || 0 });
        // A thumbnail nested in a media:content describes that content; keep it as a fallback.
        for (const t of childrenOf(c, 'thumbnail', MEDIA_NS)) thumbs.push({ url: t.attrs.url, source: 'media:thumbnail', width: Number(t.attrs.width) || 0 });
      } else if (c.local === 'thumbnail') thumbs.push({ url: c.attrs.url, source: 'media:thumbnail', width: Number(c.attrs.width) || 0 });
    }
  };
  scan(el);
  // The widest rendition first; stable for equal widths (document order).
  content.sort((a, b) => b.width - a.width);
  thumbs.sort((a, b) => b.width - a.width);
  return { content, thumbs };
}

function pick(cands: Candidate[], base: string | null): { image: string; image_source: string } | null {
  for (const c of cands) {
    const abs = absolute(c.url, base);
    if (abs) return { image: abs, image_source: c.source };
  }
  return null;
}

function rssItem(item: XmlElement, feedUrl: string | null, ns: string): FeedItem {
  const title = plainTitle(childOf(item, 'title', ns)?.allText ?? '');
  const linkText = childOf(item, 'link', ns)?.text;
  const guid = childOf(item, 'guid', ns);
  const link = absolute(linkText, feedUrl) ?? (guid && guid.attrs.isPermaLink !== 'false' ? absolute(guid.text, feedUrl) : null);
  const base = link ?? feedUrl;
  const enclosures: Candidate[] = childrenOf(item, 'enclosure', ns)
    .filter((e) => looksLikeImage(e.attrs.type, e.attrs.url))
    .map((e) => ({ url: e.attrs.url, source: 'enclosure', width: 0 }));
  const media = mediaCandidates(item);
  const chosen = pick(enclosures, base) ?? pick(media.content, base) ?? pick(media.thumbs, base);
  return { title, link, image: chosen?.image ?? null, image_source: chosen?.image_source ?? null };
}

function atomTitle(el: XmlElement | undefined): string {
  if (!el) return '';
  return plainTitle(el.allText);
}

function atomEntry(entry: XmlElement, feedUrl: string | null): FeedItem {
  const links = childrenOf(entry, 'link', ATOM_NS);
  const alt = links.find((l) => (l.attrs.rel ?? 'alternate') === 'alternate');
  const link = absolute(alt?.attrs.href, feedUrl);
  const base = link ?? feedUrl;
  const enclosures: Candidate[] = links
    .filter((l) => l.attrs.rel === 'enclosure' && looksLikeImage(l.attrs.type, l.attrs.href))
    .map((l) => ({ url: l.attrs.href, source: 'enclosure', width: 0 }));
  const media = mediaCandidates(entry);
  const chosen = pick(enclosures, base) ?? pick(media.content, base) ?? pick(media.thumbs, base);
  return { title: atomTitle(childOf(entry, 'title', ATOM_NS)), link, image: chosen?.image ?? null, image_source: chosen?.image_source ?? null };
}

const jsonFeedSchema = z.object({
  version: z.string().refine((v) => v.startsWith('https://jsonfeed.org/version/'), 'not a JSON Feed version URL'),
  title: z.string().optional(),
  home_page_url: z.string().optional(),
  feed_url: z.string().optional(),
  items: z
    .array(
      z.object({
        id: z.union([z.string(), z.number()]).optional(),
        url: z.string().optional(),
        external_url: z.string().optional(),
        title: z.string().optional(),
        content_text: z.string().optional(),
        image: z.string().optional(),
        banner_image: z.string().optional(),
        attachments: z.array(z.object({ url: z.string(), mime_type: z.string().optional() })).optional(),
      }),
    )
    .max(10_000),
});

function jsonFeed(text: string, feedUrl: string | null): ParsedFeed {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new LoraloopError('INVALID_INPUT', `The feed is not valid JSON: ${(e as Error).message}.`, {
      hint: 'Check the feed URL in a browser; it must serve RSS, Atom or JSON Feed.',
    });
  }
  const parsed = jsonFeedSchema.safeParse(raw);
  if (!parsed.success) {
    throw new LoraloopError('INVALID_INPUT', `The JSON is not a JSON Feed: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}.`, {
      hint: 'A JSON Feed has "version": "https://jsonfeed.org/version/1.1" and an "items" array (jsonfeed.org).',
    });
  }
  const f = parsed.data;
  const base = feedUrl ?? absolute(f.feed_url, null) ?? absolute(f.home_page_url, null);
  const items = f.items.map((it): FeedItem => {
    const link = absolute(it.url ?? it.external_url, base);
    const b = link ?? base;
    const attachments: Candidate[] = (it.attachments ?? [])
      .filter((a) => looksLikeImage(a.mime_type, a.url))
      .map((a) => ({ url: a.url, source: 'enclosure', width: 0 }));
    const chosen =
      pick(attachments, b) ??
      pick([{ url: it.image, source: 'image', width: 0 }], b) ??
      pick([{ url: it.banner_image, source: 'banner_image', width: 0 }], b);
    return { title: plainTitle(it.title ?? ''), link, image: chosen?.image ?? null, image_source: chosen?.image_source ?? null };
  });
  return { format: 'json', title: f.title ?? null, items };
}

/**
 * Parse a feed document. `feedUrl` resolves relative links (null for a file). The format is decided by the
 * content: a JSON object is a JSON Feed; XML is RSS (`<rss>`, `<rdf:RDF>`) or Atom (`<feed>`).
 */
export function parseFeed(text: string, feedUrl: string | null = null): ParsedFeed {
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('{')) return jsonFeed(start, feedUrl);
  const root = parseXml(text);
  if (root.local === 'rss' && root.ns === '') {
    const channel = childOf(root, 'channel', '');
    if (!channel) throw new LoraloopError('INVALID_INPUT', 'The RSS feed has no <channel>.', { hint: 'An RSS 2.0 feed is <rss><channel><item>...</item></channel></rss>.' });
    return {
      format: 'rss',
      title: plainTitle(childOf(channel, 'title', '')?.allText ?? '') || null,
      items: childrenOf(channel, 'item', '').map((it) => rssItem(it, feedUrl, '')),
    };
  }
  if (root.local === 'RDF' && root.ns === RDF_NS) {
    const channel = childOf(root, 'channel', RSS1_NS);
    return {
      format: 'rss',
      title: channel ? plainTitle(childOf(channel, 'title', RSS1_NS)?.allText ?? '') || null : null,
      items: childrenOf(root, 'item', RSS1_NS).map((it) => rssItem(it, feedUrl, RSS1_NS)),
    };
  }
  if (root.local === 'feed' && root.ns === ATOM_NS) {
    return {
      format: 'atom',
      title: atomTitle(childOf(root, 'title', ATOM_NS)) || null,
      items: childrenOf(root, 'entry', ATOM_NS).map((e) => atomEntry(e, feedUrl)),
    };
  }
  throw new LoraloopError('INVALID_INPUT', `The document is XML but not a feed (its root element is <${root.name}>).`, {
    hint: 'Give the URL of the RSS, Atom or JSON Feed itself, not of a web page.',
  });
}
