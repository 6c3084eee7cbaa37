import { describe, expect, it } from 'vitest';
import { duplicateGroups } from '../../../src/dataset/analyze/duplicates.js';
import { distribution, findGaps, imagesToReach, volumeLevel } from '../../../src/dataset/analyze/gaps.js';
import { categorize, imageCategories, normalizeCategory, paletteFamily, targetsFor } from '../../../src/dataset/analyze/taxonomy.js';

describe('taxonomy', () => {
  it('reads one framing and stacking content categories from tags and captions', () => {
    expect(categorize('zxq, full-body, two people walking in a busy city street')).toEqual(['full-body', 'multi-character', 'complex background']);
    expect(categorize('zxq, close-up of her face, hand covering her mouth')).toEqual(['close-up', 'occlusion']);
    expect(categorize('zxq, waist-up, standing, plain white background')).toEqual(['medium shot']);
    expect(categorize('zxq, red jacket')).toEqual([]);
  });

  it('normalises given category names and keeps framing first', () => {
    expect(normalizeCategory('Closeup')).toBe('close-up');
    expect(normalizeCategory('full body')).toBe('full-body');
    expect(normalizeCategory('wide')).toBe('far/wide');
    expect(imageCategories(['occlusion', 'Full Body'], [], null)).toEqual(['full-body', 'occlusion']);
    // Given categories win over the text.
    expect(imageCategories(['close-up'], ['full-body'], 'full-body shot')).toEqual(['close-up']);
  });

  it('applies framing targets to subject sets only, unless the project sets its own', () => {
    expect(Object.keys(targetsFor('character', null))).toContain('full-body');
    expect(targetsFor('icons', null)).toEqual({});
    expect(targetsFor('icons', { 'palette:warm': [10, 50] })).toEqual({ 'palette:warm': [10, 50] });
  });

  it('names palette families from dominant colour names', () => {
    expect(paletteFamily(['white', 'orange', 'dark blue'])).toBe('warm');
    expect(paletteFamily(['black', 'light grey'])).toBe('neutral');
    expect(paletteFamily(['dark teal'])).toBe('cool');
  });
});

describe('gaps and volume', () => {
  it('computes the images to add so a share reaches its minimum', () => {
    // The example: full-body 10% of 412 against 25-30% -> about 80.
    expect(imagesToReach(41, 412, 25)).toBe(83);
    expect(imagesToReach(30, 100, 25)).toBe(0);
  });

  it('grades gaps by how far outside the range they are, under before over', () => {
    const counts = new Map([
      ['close-up', 70],
      ['full-body', 10],
      ['medium shot', 20],
    ]);
    const gaps = findGaps(distribution(counts, 100, { 'close-up': [30, 40], 'full-body': [25, 30], 'medium shot': [20, 30], 'far/wide': [5, 10] }), 100);
    expect(gaps.map((g) => [g.category, g.severity, g.direction])).toEqual([
      ['full-body', 'high', 'under'],
      ['far/wide', 'high', 'under'],
      ['close-up', 'high', 'over'],
    ]);
  });

  it('maps usable image counts to volume levels', () => {
    expect([9, 10, 19, 20, 49, 50, 99, 100, 250].map(volumeLevel)).toEqual(['too_few', 'minimum', 'minimum', 'good', 'good', 'great', 'great', 'excellent', 'excellent']);
  });
});

describe('duplicateGroups', () => {
  it('groups exact copies and near hashes, and leaves distant ones alone', () => {
    const groups = duplicateGroups([
      { key: 'a', phash: 'ffff0000ffff0000', dhash: '0123456789abcdef' },
      { key: 'b', phash: 'ffff0000ffff0001', dhash: '0123456789abcdee' },
      { key: 'c', phash: '0000ffff0000ffff', dhash: 'fedcba9876543210', exact: 'x' },
      { key: 'd', phash: '123456789abcdef0', dhash: '0000000000000000', exact: 'x' },
      { key: 'e', phash: 'ffff0000ffff0000', dhash: 'fedcba9876543210' },
    ]);
    // e shares a's pHash but not its dHash: not confirmed.
    expect(groups).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});
