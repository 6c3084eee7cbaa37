import { describe, expect, it } from 'vitest';
import { contrastRatio, hexToRgb, relativeLuminance } from '../../../src/image/color.js';
import { DARK_TEXT, LIGHT_TEXT, planContrast, worstContrast } from '../../../src/image/contrast.js';

const lum = (h: string) => relativeLuminance(hexToRgb(h));
const pixels = (...hex: string[]) => Uint8Array.from(hex.flatMap((h) => Object.values(hexToRgb(h))));

describe('WCAG contrast', () => {
  it('matches the reference values', () => {
    expect(contrastRatio(lum('#ffffff'), lum('#000000'))).toBeCloseTo(21, 5);
    // #767676 is the classic lightest grey that passes 4.5:1 on white; #777777 just fails.
    expect(contrastRatio(lum('#ffffff'), lum('#767676'))).toBeGreaterThan(4.5);
    expect(contrastRatio(lum('#ffffff'), lum('#777777'))).toBeLessThan(4.5);
  });

  it('takes the worst pixel, not the average', () => {
    const mostlyDark = pixels('#000000', '#000000', '#000000', '#bbbbbb');
    expect(worstContrast(mostlyDark, '#ffffff')).toBeCloseTo(contrastRatio(1, lum('#bbbbbb')), 6);
  });
});

describe('planContrast', () => {
  it('needs no scrim on a dark background', () => {
    const plan = planContrast(pixels('#101018', '#202030'), '#101018');
    expect(plan.scrim).toBeNull();
    expect(plan.textColor).toBe(LIGHT_TEXT);
  });

  it('adds the smallest scrim that lifts a dark-grey/white checkerboard above 4.5', () => {
    // Neither white nor near-black text reaches 4.5 against both squares.
    const busy = pixels('#ffffff', '#505050', '#ffffff', '#505050');
    expect(Math.max(worstContrast(busy, LIGHT_TEXT), worstContrast(busy, DARK_TEXT))).toBeLessThan(4.5);
    const plan = planContrast(busy, '#336699');
    expect(plan.scrim).not.toBeNull();
    expect(plan.predicted).toBeGreaterThanOrEqual(4.5);
    expect(plan.scrim!.alpha).toBeLessThan(0.95);
  });

  it('uses dark text on a light background', () => {
    const plan = planContrast(pixels('#f4f4f0', '#e8ecf0'), '#f4f4f0');
    expect(plan.textColor).toBe(DARK_TEXT);
    expect(plan.scrim).toBeNull();
  });
});
