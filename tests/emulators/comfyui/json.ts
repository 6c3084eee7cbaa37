/**
 * JSON with integers past 2^53 kept exact, as Python's json module keeps them. Real ComfyUI's KSampler seed runs
 * to 18446744073709551615 (2^64 - 1) and it refuses 18446744073709551616; JavaScript's JSON.parse reads both as
 * the same double, so an emulator built on it accepts 2^64 and prints the max as 18446744073709552000.
 * Big integer literals become bigint on the way in and are written back digit for digit.
 */

const MARK = '\u0000int:';

/** Put every integer literal outside strings that is not a safe integer into a marked string. */
function markBigInts(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      // copy the string literal as is, escapes included
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = c === '-' || (c >= '0' && c <= '9') ? /^-?\d+(?![.eE\d])/.exec(text.slice(i, i + 400)) : null;
    if (m) {
      out += Number.isSafeInteger(Number(m[0])) ? m[0] : JSON.stringify(MARK + m[0]);
      i += m[0].length;
      continue;
    }
    out += c;
    i += 1;
  }
  return out;
}

/** JSON.parse, but integers that are not safe come back as bigint. Throws like JSON.parse on bad JSON. */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(markBigInts(text), (_k, v: unknown) => (typeof v === 'string' && v.startsWith(MARK) ? BigInt(v.slice(MARK.length)) : v));
}

/** JSON.stringify that writes bigint values as plain integer literals. */
export function stringifyJsonExact(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? MARK + v.toString() : v));
  return text.replace(/"\\u0000int:(-?\d+)"/g, '$1');
}
