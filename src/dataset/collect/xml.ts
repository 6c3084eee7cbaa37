/**
 * The feed XML reader: saxes (a strict, well-formedness-checking SAX parser) reads feeds (RSS 2.0, RSS 1.0/RDF,
 * Atom) into a small element tree, and the few things feeds need beyond XML are added around it.
 *
 * Safety: saxes never reads a DOCTYPE's internal subset, so no custom entity is ever expanded (no
 * billion-laughs, no XXE). Unknown named entities are kept as written (`&foo;`) except a few HTML ones feeds
 * commonly leak into titles, and a lone `&` (common in sloppy feeds) is kept as it is. Structure errors (a
 * mismatched close tag, an unclosed element, text after the root) throw, naming the line.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { LoraloopError } from '../../core/errors.js';

/** One element. `text` is the concatenated direct text and CDATA of the element (not of its children). */
export interface XmlElement {
  /** Qualified name as written, e.g. `media:content`. */
  name: string;
  /** Local name, e.g. `content`. */
  local: string;
  /** Namespace URI of the element ('' when none). */
  ns: string;
  /** Attributes by qualified name, values decoded. */
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  /** All text inside, children included, in document order (Atom xhtml titles, HTML in titles). */
  allText: string;
}

/** Limits that keep a hostile document cheap. */
export interface XmlLimits {
  maxDepth: number;
  maxElements: number;
}

const DEFAULT_LIMITS: XmlLimits = { maxDepth: 64, maxElements: 200_000 };

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** HTML entities that leak into feed titles often enough to decode (everything else stays literal). */
const HTML_COMMON: Record<string, string> = {
  nbsp: '\u00a0', mdash: '\u2014', ndash: '\u2013', hellip: '\u2026', rsquo: '\u2019', lsquo: '\u2018',
  rdquo: '\u201d', ldquo: '\u201c', copy: '\u00a9', reg: '\u00ae', trade: '\u2122', euro: '\u20ac',
};

function parseError(line: number, what: string): LoraloopError {
  return new LoraloopError('INVALID_INPUT', `The feed is not well-formed XML: ${what} (line ${line}).`, {
    hint: 'Check the feed URL in a browser; it must serve RSS, Atom or JSON Feed.',
  });
}

/** Decode entity and character references in text or an attribute value. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const amp = s.indexOf('&', i);
    if (amp < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, amp);
    const semi = s.indexOf(';', amp + 1);
    // A reference is short; a lone '&' (common in sloppy feeds) stays as it is.
    if (semi < 0 || semi - amp > 12) {
      out += '&';
      i = amp + 1;
      continue;
    }
    const ref = s.slice(amp + 1, semi);
    let rep: string | undefined;
    if (ref.startsWith('#x') || ref.startsWith('#X')) rep = codePoint(parseInt(ref.slice(2), 16));
    else if (ref.startsWith('#')) rep = codePoint(parseInt(ref.slice(1), 10));
    else rep = PREDEFINED[ref] ?? HTML_COMMON[ref];
    if (rep === undefined) {
      out += '&';
      i = amp + 1;
      continue;
    }
    out += rep;
    i = semi + 1;
  }
  return out;
}

function codePoint(n: number): string | undefined {
  if (!Number.isInteger(n) || n <= 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return undefined;
  return String.fromCodePoint(n);
}

interface Frame {
  el: XmlElement;
  /** Prefix -> URI in scope for this element. */
  scope: Map<string, string>;
  textParts: string[];
  /** Direct text and the allText of closed children, in order. */
  allParts: string[];
}

function splitName(q: string): { prefix: string; local: string } {
  const c = q.indexOf(':');
  return c < 0 ? { prefix: '', local: q } : { prefix: q.slice(0, c), local: q.slice(c + 1) };
}

/**
 * Escape each `&` that does not start a reference, outside CDATA sections and comments: saxes, like any XML
 * parser, would read on to the next `;`. One forward pass with indexOf, so hostile input costs linear time.
 */
function escapeLoneAmpersands(src: string): string {
  if (src.indexOf('&') < 0) return src;
  const ref = /^&(?:[A-Za-z_][\w.:-]{0,31}|#[0-9]{1,8}|#x[0-9A-Fa-f]{1,8});/;
  // Where the next section of each kind opens, searched again only once passed (Infinity: there is none).
  const next = { cdata: -1, comment: -1 };
  const find = (key: 'cdata' | 'comment', open: string, from: number): number => {
    if (next[key] < from) {
      const at = src.indexOf(open, from);
      next[key] = at < 0 ? Infinity : at;
    }
    return next[key];
  };
  let out = '';
  let i = 0;
  for (;;) {
    const amp = src.indexOf('&', i);
    if (amp < 0) break;
    const cdata = find('cdata', '<![CDATA[', i);
    const comment = find('comment', '<!--', i);
    const raw = Math.min(cdata, comment);
    if (raw < amp) {
      // Copy the section as it is; an unclosed one runs to the end (the parser reports it).
      const close = raw === cdata ? src.indexOf(']]>', raw + 9) : src.indexOf('-->', raw + 4);
      const end = close < 0 ? src.length : close + 3;
      out += src.slice(i, end);
      i = end;
      continue;
    }
    out += src.slice(i, amp) + (ref.test(src.slice(amp, amp + 42)) ? '&' : '&amp;');
    i = amp + 1;
  }
  return out + src.slice(i);
}

/** saxes complaints that the old feed readers (and browsers) shrug off; the parse goes on past them. */
const TOLERATED = new Set([
  'undefined entity.',
  'malformed character entity.',
  'the string "]]>" is disallowed in char data.',
  // Sloppy feeds print a newline before the declaration, or odd values in it; we read neither.
  'an XML declaration must be at the start of the document.',
  'the XML declaration must appear at the start of the document.',
  'version number must match /^1\\.[0-9]+$/.',
  'standalone value must match "yes" or "no".',
]);

/** Parse a document and return its root element. */
export function parseXml(src: string, limits: Partial<XmlLimits> = {}): XmlElement {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const doc = escapeLoneAmpersands(src);
  const parser = new SaxesParser({ xmlns: false, position: true });
  Object.assign(parser.ENTITIES, HTML_COMMON);
  const stack: Frame[] = [];
  const rootScope = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);
  let root: XmlElement | undefined;
  let count = 0;
  /** The tag being read (set when its name is read, cleared when it opens), for error sentences. */
  let inTag: string | undefined;
  let lastClosed: string | undefined;
  let ended = false;

  const fail = (what: string): never => {
    throw parseError(parser.line, what);
  };
  parser.on('error', (err) => {
    const message = err.message.replace(/^\d+:\d+: /, '');
    if (TOLERATED.has(message) || (message === 'disallowed character.' && inTag === undefined)) return;
    fail(describe(message));
  });
  const describe = (message: string): string => {
    if (ended && openRawSection(doc)) return `unclosed ${openRawSection(doc)}`;
    const m = /^(unclosed tag|unmatched closing tag|duplicate attribute): (.+?)\.?$/.exec(message);
    if (m?.[1] === 'unclosed tag') return `<${m[2]}> is never closed`;
    if (m?.[1] === 'unmatched closing tag') return `close tag </${m[2]}> without an open element`;
    if (m?.[1] === 'duplicate attribute') return `attribute ${m[2]} repeated on <${inTag ?? '?'}>`;
    switch (message) {
      case 'unexpected close tag.':
        return `</${closeTagBefore(doc, parser.position)}> closes <${lastClosed ?? '?'}>`;
      case 'documents may contain only one root.':
        return 'a second root element';
      case 'text data outside of root node.':
        return root ? 'text after the root element' : 'text before the root element';
      case 'document must contain a root element.':
        return 'no root element';
      case 'inappropriately located doctype declaration.':
        return 'DOCTYPE inside the document';
      case 'unquoted attribute value.':
        return `an attribute of <${inTag ?? '?'}> is not quoted`;
      case 'attribute without value.':
        return `an attribute of <${inTag ?? '?'}> has no value`;
      case 'disallowed character in attribute name.':
        return `a malformed attribute in <${inTag ?? '?'}>`;
      case 'no whitespace between attributes.':
        return `attributes of <${inTag ?? '?'}> must be separated by spaces`;
      case 'disallowed character.':
        return `a character not allowed in XML inside <${inTag ?? '?'}>`;
      case 'unexpected end.':
        return 'the document ends inside markup';
      default:
        return message.replace(/\.$/, '');
    }
  };

  parser.on('opentagstart', (tag) => {
    inTag = tag.name;
  });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    inTag = undefined;
    if (++count > lim.maxElements) fail(`more than ${lim.maxElements} elements`);
    if (stack.length + 1 > lim.maxDepth) fail(`nesting deeper than ${lim.maxDepth}`);
    const parent = stack[stack.length - 1];
    const scope = new Map(parent?.scope ?? rootScope);
    const attrs: Record<string, string> = {};
    for (const [an, av] of Object.entries(tag.attributes)) {
      attrs[an] = av;
      if (an === 'xmlns') scope.set('', av);
      else if (an.startsWith('xmlns:')) scope.set(an.slice(6), av);
    }
    const { prefix, local } = splitName(tag.name);
    const el: XmlElement = { name: tag.name, local, ns: scope.get(prefix) ?? '', attrs, children: [], text: '', allText: '' };
    if (parent) parent.el.children.push(el);
    else root = el;
    stack.push({ el, scope, textParts: [], allParts: [] });
  });
  const addText = (t: string): void => {
    const top = stack[stack.length - 1];
    if (!top) return;
    top.textParts.push(t);
    top.allParts.push(t);
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', () => {
    const top = stack.pop();
    if (!top) return;
    lastClosed = top.el.name;
    top.el.text = top.textParts.join('');
    top.el.allText = top.allParts.join('');
    stack[stack.length - 1]?.allParts.push(top.el.allText);
  });
  parser.write(doc);
  ended = true;
  parser.close();
  if (!root) fail('no root element');
  return root as XmlElement;
}

/** The name in the close tag that ends just before `at` (the parser's position, in UTF-16 units like ours). */
function closeTagBefore(src: string, at: number): string {
  const lt = src.lastIndexOf('</', at - 1);
  return /^<\/([^\s>]*)/.exec(src.slice(lt, lt + 300))?.[1] ?? '?';
}

/** 'CDATA section' or 'comment' when the document ends inside one. */
function openRawSection(src: string): string | undefined {
  if (src.lastIndexOf('<![CDATA[') > src.lastIndexOf(']]>')) return 'CDATA section';
  if (src.lastIndexOf('<!--') > src.lastIndexOf('-->')) return 'comment';
  return undefined;
}

/** Direct children with this local name (and namespace, when given). */
export function childrenOf(el: XmlElement, local: string, ns?: string): XmlElement[] {
  return el.children.filter((c) => c.local === local && (ns === undefined || c.ns === ns));
}

/** The first direct child with this local name (and namespace, when given). */
export function childOf(el: XmlElement, local: string, ns?: string): XmlElement | undefined {
  return el.children.find((c) => c.local === local && (ns === undefined || c.ns === ns));
}
