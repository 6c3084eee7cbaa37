import { describe, expect, it } from 'vitest';
import { finalizeCaption } from '../../../src/dataset/captions/finalize.js';
import { lintCaptions } from '../../../src/dataset/captions/lint.js';
import { styleGuideFor } from '../../../src/dataset/captions/style.js';
import { applyVocabulary, buildVocabulary, findVariants } from '../../../src/dataset/captions/vocabulary.js';

const vocab = buildVocabulary({ backdrop: 'background' });
const opts = { triggerWord: 'zxq', vocab, guide: styleGuideFor('icons') };
const kinds = (caption: string | null): string[] => lintCaptions([{ id: 'a', caption }], opts).findings.map((f) => f.kind);

describe('vocabulary', () => {
  it('rewrites every variant to the preferred word, keeping a leading capital', () => {
    const v = buildVocabulary({ backdrop: 'background' });
    expect(applyVocabulary('Backdrop of grey clouds, closeup, colour study', v)).toEqual({ text: 'Background of gray clouds, close-up, color study', replaced: 4 });
  });

  it('lets the project turn a built-in group around instead of fighting it', () => {
    const v = buildVocabulary({ gray: 'grey' });
    expect(applyVocabulary('gray and grey', v).text).toBe('grey and grey');
    expect(findVariants('light grey background', v)).toEqual([]);
  });

  it('does not touch words that only contain a variant', () => {
    expect(applyVocabulary('greyscale photo, backdrops', vocab).text).toBe('greyscale photo, backdrops');
  });
});

describe('finalizeCaption', () => {
  it('puts the trigger word first, drops "image of", applies the vocabulary and trims the full stop', () => {
    expect(finalizeCaption('An image of a clipboard on a backdrop.', 'zxq', vocab).caption).toBe('zxq, a clipboard on a background');
    expect(finalizeCaption('ZXQ, image of a red coin', 'zxq', vocab).caption).toBe('zxq, a red coin');
  });

  it('keeps captions within 500 characters by dropping whole trailing phrases', () => {
    const long = Array.from({ length: 80 }, (_, i) => `phrase number ${i}`).join(', ');
    const c = finalizeCaption(long, 'zxq', vocab).caption;
    expect(c.length).toBeLessThanOrEqual(500);
    expect(c).toMatch(/phrase number \d+$/);
  });
});

describe('lintCaptions', () => {
  it('passes a caption that follows the icon style guide', () => {
    expect(
      kinds('zxq, A flat design clipboard icon with three checkmarks, orange and white color scheme, minimal vector style, solid light gray background, clean edges, professional UI icon'),
    ).toEqual([]);
  });

  it('flags a missing caption, a short one, and one over 500 characters', () => {
    expect(kinds(null)).toEqual(['missing']);
    expect(kinds('zxq, cat')).toContain('length');
    expect(kinds(`zxq, ${'word '.repeat(120)}`)).toContain('length');
  });

  it('flags a missing trigger word and a trigger word that is not first', () => {
    expect(kinds('a clipboard with checkmarks on white')).toContain('trigger_missing');
    expect(kinds('a clipboard with checkmarks, zxq style')).toContain('trigger_not_first');
    // A longer word that starts with the trigger is not the trigger.
    expect(kinds('zxqfoo, a clipboard with checkmarks')).toContain('trigger_missing');
  });

  it('flags synonyms of the vocabulary and names the preferred word', () => {
    const f = lintCaptions([{ id: 'a', caption: 'zxq, clipboard drawing on a plain backdrop' }], opts).findings;
    expect(f).toEqual([expect.objectContaining({ kind: 'synonym', detail: expect.stringContaining('"background"') })]);
  });

  it('bans a bare "icon" in an icon set and "image of" everywhere, but not "clipboard icon"', () => {
    expect(kinds('zxq, an icon, orange and white')).toContain('banned');
    expect(kinds('zxq, icon of a clipboard, orange')).toContain('banned');
    expect(kinds('zxq, image of a clipboard, orange and white')).toContain('banned');
    expect(kinds('zxq, orange clipboard icon with checkmarks')).toEqual([]);
    // The same bare word is fine for another asset type's guide.
    expect(lintCaptions([{ id: 'a', caption: 'zxq, an icon on a shop sign, street' }], { ...opts, guide: styleGuideFor('character') }).findings).toEqual([]);
  });

  it('groups near-identical captions and leaves different ones alone', () => {
    const r = lintCaptions(
      [
        { id: 'a', caption: 'zxq, orange clipboard icon with three checkmarks, white background' },
        { id: 'b', caption: 'zxq, orange clipboard icon with three checkmarks, white background' },
        { id: 'c', caption: 'zxq, white background, orange clipboard icon with three checkmarks' },
        { id: 'd', caption: 'zxq, blue calendar icon with a red dot, dark background' },
      ],
      opts,
    );
    const near = r.findings.filter((f) => f.kind === 'near_identical');
    expect(near.map((f) => f.image_id).sort()).toEqual(['a', 'b', 'c']);
    expect(near.find((f) => f.image_id === 'a')?.related?.sort()).toEqual(['b', 'c']);
    expect(r.clean).toBe(1);
  });
});
