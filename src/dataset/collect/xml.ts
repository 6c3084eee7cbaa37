/**
 * A small, strict XML reader for feeds (RSS 2.0, RSS 1.0/RDF, Atom). No package does this in our tree, and a
 * feed needs little: elements, attributes, text, CDATA, the five predefined entities, character references
 * and namespaces. It is written as a character scanner (indexOf, no regular expressions over the document),
 * so hostile input costs linear time.
 *
 * Safety: a DOCTYPE is skipped and its internal subset is never read, so no custom entity is ever expanded
 * (no billion-laughs, no XXE). Unknown named entities are kept as written (`&foo;`) except a few HTML ones
 * feeds commonly leak into titles. Structure errors (a mismatched close tag, an unclosed element, text after
 * the root) throw, naming the line.
 */
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

function parseError(src: string, at: number, what: string): LoraloopError {
  let line = 1;
  for (let i = 0; i < at && i < src.length; i++) if (src.charCodeAt(i) === 10) line++;
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

function isNameChar(c: number): boolean {
  // Letters, digits, '-', '.', '_', ':' and anything non-ASCII (XML names allow most of Unicode).
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 58 || c > 127;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
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

/** Parse a document and return its root element. */
export function parseXml(src: string, limits: Partial<XmlLimits> = {}): XmlElement {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const n = src.length;
  let i = src.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: Frame[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  const rootScope = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);

  const readName = (): string => {
    const start = i;
    while (i < n && isNameChar(src.charCodeAt(i))) i++;
    if (i === start) throw parseError(src, i, 'expected a name');
    return src.slice(start, i);
  };
  const skipSpace = (): void => {
    while (i < n && isSpace(src.charCodeAt(i))) i++;
  };

  while (i < n) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const raw = src.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) {
        const t = decodeEntities(raw);
        top.textParts.push(t);
        top.allParts.push(t);
      }
      else if (raw.trim() !== '') throw parseError(src, i, root ? 'text after the root element' : 'text before the root element');
    }
    if (lt < 0) break;
    i = lt;
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      if (end < 0) throw parseError(src, i, 'unclosed comment');
      i = end + 3;
      continue;
    }
    if (src.startsWith('<![CDATA[', i)) {
      const end = src.indexOf(']]>', i + 9);
      if (end < 0) throw parseError(src, i, 'unclosed CDATA section');
      const top = stack[stack.length - 1];
      if (!top) throw parseError(src, i, 'CDATA outside the root element');
      const cdata = src.slice(i + 9, end);
      top.textParts.push(cdata);
      top.allParts.push(cdata);
      i = end + 3;
      continue;
    }
    if (src.startsWith('<?', i)) {
      const end = src.indexOf('?>', i + 2);
      if (end < 0) throw parseError(src, i, 'unclosed processing instruction');
      i = end + 2;
      continue;
    }
    if (src.startsWith('<!DOCTYPE', i) || src.startsWith('<!doctype', i)) {
      if (root || stack.length) throw parseError(src, i, 'DOCTYPE inside the document');
      // Skip it, internal subset included, without reading any declaration in it.
      let depth = 0;
      let j = i + 9;
      for (; j < n; j++) {
        const c = src[j];
        if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (c === '>' && depth <= 0) break;
      }
      if (j >= n) throw parseError(src, i, 'unclosed DOCTYPE');
      i = j + 1;
      continue;
    }
    if (src.startsWith('</', i)) {
      i += 2;
      const name = readName();
      skipSpace();
      if (src[i] !== '>') throw parseError(src, i, `malformed close tag </${name}`);
      i++;
      const top = stack.pop();
      if (!top) throw parseError(src, i, `close tag </${name}> without an open element`);
      if (top.el.name !== name) throw parseError(src, i, `</${name}> closes <${top.el.name}>`);
      top.el.text = top.textParts.join('');
      top.el.allText = top.allParts.join('');
      stack[stack.length - 1]?.allParts.push(top.el.allText);
      continue;
    }
    // Start tag.
    i++;
    if (root && stack.length === 0) throw parseError(src, i, 'a second root element');
    const name = readName();
    const rawAttrs: Array<[string, string]> = [];
    let selfClosing = false;
    for (;;) {
      const before = i;
      skipSpace();
      if (i >= n) throw parseError(src, i, `unclosed tag <${name}`);
      const c = src[i];
      if (c === '>') {
        i++;
        break;
      }
      if (c === '/') {
        if (src[i + 1] !== '>') throw parseError(src, i, `malformed tag <${name}`);
        i += 2;
        selfClosing = true;
        break;
      }
      if (before === i) throw parseError(src, i, `attributes of <${name}> must be separated by spaces`);
      const an = readName();
      skipSpace();
      if (src[i] !== '=') throw parseError(src, i, `attribute ${an} of <${name}> has no value`);
      i++;
      skipSpace();
      const q = src[i];
      if (q !== '"' && q !== "'") throw parseError(src, i, `attribute ${an} of <${name}> is not quoted`);
      const end = src.indexOf(q, i + 1);
      if (end < 0) throw parseError(src, i, `unclosed attribute ${an} of <${name}>`);
      const value = src.slice(i + 1, end);
      if (value.indexOf('<') >= 0) throw parseError(src, i, `'<' inside attribute ${an} of <${name}>`);
      rawAttrs.push([an, decodeEntities(value)]);
      i = end + 1;
    }
    if (++count > lim.maxElements) throw parseError(src, i, `more than ${lim.maxElements} elements`);
    if (stack.length + 1 > lim.maxDepth) throw parseError(src, i, `nesting deeper than ${lim.maxDepth}`);
    const parent = stack[stack.length - 1];
    const scope = new Map(parent?.scope ?? rootScope);
    const attrs: Record<string, string> = {};
    for (const [an, av] of rawAttrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, an)) throw parseError(src, i, `attribute ${an} repeated on <${name}>`);
      attrs[an] = av;
      if (an === 'xmlns') scope.set('', av);
      else if (an.startsWith('xmlns:')) scope.set(an.slice(6), av);
    }
    const { prefix, local } = splitName(name);
    const el: XmlElement = { name, local, ns: scope.get(prefix) ?? '', attrs, children: [], text: '', allText: '' };
    if (parent) parent.el.children.push(el);
    else root = el;
    if (!selfClosing) stack.push({ el, scope, textParts: [], allParts: [] });
  }
  if (stack.length) throw parseError(src, n, `<${stack[stack.length - 1]?.el.name}> is never closed`);
  if (!root) throw parseError(src, n, 'no root element');
  return root;
}

/** Direct children with this local name (and namespace, when given). */
export function childrenOf(el: XmlElement, local: string, ns?: string): XmlElement[] {
  return el.children.filter((c) => c.local === local && (ns === undefined || c.ns === ns));
}

/** The first direct child with this local name (and namespace, when given). */
export function childOf(el: XmlElement, local: string, ns?: string): XmlElement | undefined {
  return el.children.find((c) => c.local === local && (ns === undefined || c.ns === ns));
}
