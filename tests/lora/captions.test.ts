import { describe, expect, it } from 'vitest';
import { LoraloopError } from '../../src/core/errors.js';
import { captionForTrainer, checkCaption, minimalCaption } from '../../src/dataset/captions/rules.js';

describe('captionForTrainer', () => {
  it('puts the trigger word first when the caption lacks it', () => {
    expect(captionForTrainer('a gold coin on a dark desk', 'sks solana')).toBe('sks solana, a gold coin on a dark desk');
  });

  it('keeps a caption that already starts with the trigger word, writing the trigger as configured', () => {
    expect(captionForTrainer('SKS Solana logo on a dark background', 'sks solana')).toBe('sks solana logo on a dark background');
    expect(captionForTrainer('sks solana, closeup', 'sks solana')).toBe('sks solana, closeup');
  });

  it('does not treat a longer word that begins with the trigger as the trigger', () => {
    expect(captionForTrainer('tokyo street at night', 'tok')).toBe('tok, tokyo street at night');
  });

  it('adds the trigger first even when it appears later in the sentence, leaving the sentence intact', () => {
    expect(captionForTrainer('a photo of sks on a desk', 'sks')).toBe('sks, a photo of sks on a desk');
  });

  it('replaces [trigger] placeholders and collapses line breaks', () => {
    expect(captionForTrainer('[trigger] icon,\n flat   style', 'ohwx')).toBe('ohwx icon, flat style');
  });

  it('gives the bare trigger for an empty caption', () => {
    expect(captionForTrainer('', 'ohwx')).toBe('ohwx');
    expect(captionForTrainer(null, 'ohwx')).toBe('ohwx');
  });
});

describe('checkCaption', () => {
  it('marks a missing or blank caption pending', () => {
    expect(checkCaption(undefined)).toEqual({ caption: null, status: 'pending' });
    expect(checkCaption('   ')).toEqual({ caption: null, status: 'pending' });
  });

  it('accepts 10 to 500 characters', () => {
    expect(checkCaption('0123456789')).toEqual({ caption: '0123456789', status: 'ok' });
    expect(checkCaption('x'.repeat(500)).status).toBe('ok');
  });

  it('refuses 9 and 501 characters with the length in the message', () => {
    expect(() => checkCaption('too short')).toThrow(/9 characters/);
    try {
      checkCaption('x'.repeat(501));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LoraloopError);
      expect((e as LoraloopError).code).toBe('INVALID_INPUT');
      expect((e as LoraloopError).message).toMatch(/501 characters/);
    }
  });
});

describe('minimalCaption', () => {
  it('is the trigger word then the tags, without repeating the trigger', () => {
    expect(minimalCaption('sks', ['closeup', ' dark background ', 'SKS', ''])).toBe('sks, closeup, dark background');
  });
});
