import { describe, expect, it } from 'vitest';
import { alphaBounds, fillRoundedRect, upscaleBilinear, type Raster } from '../../../src/cover/render/raster.js';

function solid(width: number, height: number, px: (x: number, y: number) => [number, number, number]): Raster {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([...px(x, y), 255], (y * width + x) * 4);
  }
  return { data, width, height };
}

describe('upscaleBilinear', () => {
  it('enlarges 2x with bilinear weights (fast path) and matches the general formula', () => {
    // A horizontal ramp 0, 40, 80, 120: output column 3 sits at source x = 1.25 -> 50; column 0 clamps -> 0.
    const src = solid(4, 2, (x) => [x * 40, 255 - x * 40, 7]);
    const out = upscaleBilinear(src, 8, 4);
    const at = (x: number, y: number) => Array.from(out.data.subarray((y * 8 + x) * 4, (y * 8 + x) * 4 + 4));
    expect(at(0, 0)).toEqual([0, 255, 7, 255]);
    expect(at(3, 1)).toEqual([50, 205, 7, 255]);
    expect(at(7, 3)).toEqual([120, 135, 7, 255]);
  });

  it('handles ratios other than 2x', () => {
    const out = upscaleBilinear(solid(3, 3, () => [10, 20, 30]), 7, 5);
    expect([out.width, out.height]).toEqual([7, 5]);
    expect(Array.from(out.data.subarray(0, 4))).toEqual([10, 20, 30, 255]);
  });
});

describe('fillRoundedRect and alphaBounds', () => {
  it('blends the panel colour at the given opacity and leaves rounded corners lighter', () => {
    const c = solid(40, 40, () => [200, 200, 200]);
    fillRoundedRect(c, { x: 0, y: 0, width: 40, height: 40 }, 10, '#000000', 0.5);
    expect(c.data[(20 * 40 + 20) * 4]).toBe(100);
    expect(c.data[0]).toBe(200); // the corner pixel lies outside the rounded corner
  });

  it('finds the tight box of the drawn pixels', () => {
    const layer: Raster = { data: new Uint8Array(10 * 10 * 4), width: 10, height: 10 };
    for (const [x, y] of [
      [2, 3],
      [6, 7],
    ] as const) layer.data[(y * 10 + x) * 4 + 3] = 255;
    expect(alphaBounds(layer)).toEqual({ x: 2, y: 3, width: 5, height: 5 });
    expect(alphaBounds({ data: new Uint8Array(16), width: 2, height: 2 })).toBeNull();
  });
});
