/**
 * Understanding what people type to the bot. Pure functions: Slack's markup in, a cover request (or "show the
 * help") out. Kept apart from Bolt so the wording rules are easy to test and to extend.
 */

/** What a message asks for. */
export type SlackRequest =
  | {
      kind: 'cover';
      /** The article headline to put on the cover. */
      title: string;
      /** The whole request as typed (markup removed), for the agent: it may name a coin the title lacks. */
      brief: string;
      /** The word(s) before "cover" ("Solana" in "make a Solana cover: ..."), if any. */
      coin_hint?: string;
    }
  | { kind: 'help' };

/** The short help the bot answers with when it does not understand. */
export const HELP_TEXT = [
  "I make article covers. Try one of these:",
  '• `@loraloop make a Solana cover: Solana ETF inflows hit $1B`',
  '• `@loraloop cover for Bitcoin tops $100k as ETFs pull in record cash`',
  '• `/cover Ethereum developers set a date for the next upgrade`',
  'In a direct message, leave out the @mention. Under each cover: *Generate again*, *Another style*, and a 1-5 rating.',
].join('\n');

/**
 * Turn Slack's message markup into plain text: mentions go away, links keep their label (or the URL),
 * channel references keep their name, and the three HTML entities Slack escapes are restored.
 */
export function slackToPlain(text: string): string {
  return text
    .replace(/<@[A-Z0-9]+(?:\|[^>]*)?>/gi, ' ')
    .replace(/<#[A-Z0-9]+\|([^>]*)>/gi, '#$1')
    .replace(/<!([a-z]+)(?:\|[^>]*)?>/gi, ' ')
    .replace(/<((?:https?|mailto):[^>|]+)\|([^>]*)>/gi, '$2')
    .replace(/<((?:https?|mailto):[^>]+)>/gi, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/[\u00a0\s]+/g, ' ')
    .trim();
}

/** Remove one pair of quotes around a title ("...", '...', “...”, ‘...’). */
function unquote(s: string): string {
  const t = s.trim();
  const m = /^(["'“‘«])([\s\S]*)(["'”’»])$/.exec(t);
  return m?.[2] !== undefined ? m[2].trim() : t;
}

const POLITE = String.raw`(?:(?:hey|hi|ok|okay|please|pls|can you|could you|would you|can i get|could i get)[\s,!]+)*`;
const VERB = String.raw`(?:make|create|generate|draw|design|render|build|do|give me|get me|i need|we need|need)`;
const SEP = String.raw`\s*(?:[:\-–—]|\bfor\b|\babout\b|\bon\b|\bwith (?:the )?(?:title|headline)\b)\s*`;

// "make a Solana cover: <title>", "please generate an ETH cover for <title>", "make me a cover: <title>"
const VERB_FORM = new RegExp(
  String.raw`^${POLITE}${VERB}\s+(?:me\s+|us\s+)?(?:an?\s+|the\s+|one\s+)?(?:new\s+)?(?:(?<coin>[^:]{1,40}?)\s+)?cover(?:\s+(?:image|art|picture))?${SEP}(?<title>.+)$`,
  'is',
);
// "cover for <title>", "cover: <title>", "new cover about <title>"
const NOUN_FORM = new RegExp(String.raw`^${POLITE}(?:an?\s+|new\s+)*(?:(?<coin>[^:]{1,40}?)\s+)?cover(?:\s+(?:image|art|picture))?${SEP}(?<title>.+)$`, 'is');

const HELP_WORDS = /^(?:help|\?|hi|hello|hey|usage|what can you do\??|how does this work\??)$/i;

function coverRequest(title: string, brief: string, coin?: string): SlackRequest {
  const t = unquote(title.replace(/^[:\-–—\s]+/, ''));
  if (t === '') return { kind: 'help' };
  const hint = coin?.trim().replace(/^(?:an?|the)\s+/i, '');
  // "make a new cover: ..." or "make a nice cover" give adjectives, not coins; the agent still sees the brief.
  return hint ? { kind: 'cover', title: t, brief, coin_hint: hint } : { kind: 'cover', title: t, brief };
}

/** Understand a mention or a direct message. Anything else is a request for help. */
export function parseMessage(raw: string): SlackRequest {
  const text = slackToPlain(raw);
  if (text === '' || HELP_WORDS.test(text)) return { kind: 'help' };
  for (const re of [VERB_FORM, NOUN_FORM]) {
    const m = re.exec(text);
    if (m?.groups?.title) return coverRequest(m.groups.title, text, m.groups.coin);
  }
  return { kind: 'help' };
}

/**
 * Understand the text of `/cover <title>`: the text is the title, but the sentence forms work too
 * ("/cover make a Solana cover: ...", "/cover for <title>").
 */
export function parseSlashCommand(raw: string): SlackRequest {
  const text = slackToPlain(raw);
  if (text === '' || HELP_WORDS.test(text)) return { kind: 'help' };
  const sentence = parseMessage(text);
  if (sentence.kind === 'cover') return sentence;
  return coverRequest(text.replace(/^(?:for|about)\s+/i, ''), text);
}
