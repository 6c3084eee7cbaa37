import { describe, expect, it } from 'vitest';
import { anotherStyle, decodeButtonValue, encodeButtonValue, summaryLine } from '../../../src/faces/slack/blocks.js';
import { parseMessage, parseSlashCommand, slackToPlain } from '../../../src/faces/slack/parse.js';

describe('parseMessage', () => {
  it('reads "make a <coin> cover: <title>" with the coin hint and the whole brief', () => {
    expect(parseMessage('<@U123> make a Solana cover: Solana ETF inflows hit $1B')).toEqual({
      kind: 'cover',
      title: 'Solana ETF inflows hit $1B',
      brief: 'make a Solana cover: Solana ETF inflows hit $1B',
      coin_hint: 'Solana',
    });
  });

  it.each([
    ['cover for Bitcoin tops $100k', 'Bitcoin tops $100k'],
    ['<@U1> cover for "Ethereum devs set Pectra date"', 'Ethereum devs set Pectra date'],
    ['please generate a cover about XRP wins in court', 'XRP wins in court'],
    ['Can you make me a cover for Dogecoin jumps 20%', 'Dogecoin jumps 20%'],
    ['cover: Circle files for IPO', 'Circle files for IPO'],
    ['make an ETH cover — Staking ETFs approved', 'Staking ETFs approved'],
  ])('understands %j', (text, title) => {
    const r = parseMessage(text);
    expect(r.kind).toBe('cover');
    expect(r.kind === 'cover' && r.title).toBe(title);
  });

  it('turns Slack markup back into the text the person typed', () => {
    expect(slackToPlain('<@U1> cover for S&amp;P &lt;3 <https://x.io/a|BTC> in <#C1|news>')).toBe('cover for S&P <3 BTC in #news');
    const r = parseMessage('cover for AT&amp;T accepts <https://bitcoin.org|Bitcoin>');
    expect(r.kind === 'cover' && r.title).toBe('AT&T accepts Bitcoin');
  });

  it.each(['hello', '<@U1>', 'what is the price of SOL?', 'discover the future of Solana', 'make a cover:', 'the coverage was good'])(
    'answers %j with help',
    (text) => {
      expect(parseMessage(text)).toEqual({ kind: 'help' });
    },
  );
});

describe('parseSlashCommand', () => {
  it('takes the text as the title, and the sentence forms too', () => {
    expect(parseSlashCommand('Solana ETF inflows hit $1B')).toMatchObject({ kind: 'cover', title: 'Solana ETF inflows hit $1B' });
    expect(parseSlashCommand('for Bitcoin tops $100k')).toMatchObject({ kind: 'cover', title: 'Bitcoin tops $100k' });
    expect(parseSlashCommand('make a Solana cover: Firedancer ships')).toMatchObject({ kind: 'cover', title: 'Firedancer ships', coin_hint: 'Solana' });
  });
  it('gives help for an empty command or "help"', () => {
    expect(parseSlashCommand('  ')).toEqual({ kind: 'help' });
    expect(parseSlashCommand('help')).toEqual({ kind: 'help' });
  });
});

describe('buttons and the reasoning line', () => {
  it('round-trips a button value and refuses anything else', () => {
    const v = { c: 'cov_1', t: 'Solana ETF inflows hit $1B', b: 'make a Solana cover: Solana ETF inflows hit $1B', u: 'mesh' };
    expect(decodeButtonValue(encodeButtonValue(v))).toEqual(v);
    expect(decodeButtonValue('{"c":1}')).toBeUndefined();
    expect(decodeButtonValue('not json')).toBeUndefined();
  });

  it('drops the brief rather than exceed Slack\'s 2000-character value limit', () => {
    const encoded = encodeButtonValue({ c: 'cov_1', t: 'T'.repeat(300), b: 'B'.repeat(1900) });
    expect(encoded.length).toBeLessThanOrEqual(2000);
    expect(decodeButtonValue(encoded)).toEqual({ c: 'cov_1', t: 'T'.repeat(300) });
  });

  it('"Another style" never repeats the current style', () => {
    const styles = ['linear', 'mesh', 'grid'];
    for (const r of [0, 0.5, 0.99]) expect(anotherStyle(styles, 'mesh', () => r)).not.toBe('mesh');
    expect(anotherStyle(['mesh'], 'mesh')).toBeUndefined();
  });

  it('says coin, LoRA, palette and score in one line', () => {
    const line = summaryLine({
      tool: 'cover_make',
      cover_id: 'c1',
      path: '/x.png',
      seed: 1,
      style: 'mesh',
      coins: [{ symbol: 'SOL', name: 'Solana', primary: true }],
      lora: { name: 'solana-brand', version: 2, strength: 0.8 },
      palette: { colors: ['#000000', '#9945ff'], scheme: 'analogous' },
      score: 0.82,
      contrast: 7.1,
      attempts: 3,
      reasoning: '',
    });
    expect(line).toBe('Coin: Solana (SOL) · LoRA solana-brand v2 @ 0.8 · analogous palette #000000 #9945ff, mesh style · score 0.82 (best of 3)');
    expect(line).not.toContain('\n');
  });
});
