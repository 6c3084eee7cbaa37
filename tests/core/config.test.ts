import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { LoraloopError } from '../../src/core/errors.js';

describe('config from the environment', () => {
  it('runs on embedded defaults with nothing set', () => {
    const c = loadConfig({}, '/work/x');
    expect(c.home).toMatch(/\.loraloop$/);
    expect(c.allowedRoots).toEqual(['/work/x']);
    expect(c.allowPrivateUrls).toBe(false);
    expect(c.replicate.baseUrl).toBe('https://api.replicate.com/v1');
    expect(c.comfyuiUrls).toEqual([]);
  });

  it('splits allowed roots like PATH and resolves relative ones against the working directory', () => {
    const c = loadConfig({ LORALOOP_ALLOWED_ROOTS: '/data/a::rel/b', LORALOOP_HOME: 'home' }, '/w');
    expect(c.allowedRoots).toEqual(['/data/a', '/w/rel/b']);
    expect(c.home).toBe('/w/home');
  });

  it('names a malformed variable in the error', () => {
    const bad = (env: Record<string, string>) => {
      try {
        loadConfig(env, '/');
        return null;
      } catch (e) {
        return e as LoraloopError;
      }
    };
    const e1 = bad({ REPLICATE_BASE_URL: 'https://api.replicate.com' });
    expect(e1?.code).toBe('CONFIG_INVALID');
    expect(e1?.message).toContain('REPLICATE_BASE_URL');
    expect(e1?.message).toContain('/v1');
    expect(bad({ LORALOOP_REPLICATE_TRAINER: 'ostris/flux-dev-lora-trainer' })?.message).toContain('LORALOOP_REPLICATE_TRAINER');
    expect(bad({ LORALOOP_ALLOW_PRIVATE_URLS: 'maybe' })?.message).toContain('LORALOOP_ALLOW_PRIVATE_URLS');
    expect(bad({ COMFYUI_URLS: 'gpu1:8188' })?.message).toContain('COMFYUI_URLS');
  });

  it('reads the training poll interval and lease, and names either when out of range', () => {
    expect(loadConfig({}, '/').training).toEqual({ pollMs: undefined, leaseMs: undefined });
    expect(loadConfig({ LORALOOP_TRAINING_POLL_MS: '250', LORALOOP_TRAINING_LEASE_MS: '5000' }, '/').training).toEqual({ pollMs: 250, leaseMs: 5000 });
    expect(() => loadConfig({ LORALOOP_TRAINING_POLL_MS: '5' }, '/')).toThrow(/LORALOOP_TRAINING_POLL_MS/);
    expect(() => loadConfig({ LORALOOP_TRAINING_LEASE_MS: 'soon' }, '/')).toThrow(/LORALOOP_TRAINING_LEASE_MS/);
  });

  it('treats empty strings as unset and parses lists', () => {
    const c = loadConfig({ REPLICATE_API_TOKEN: '', COMFYUI_URLS: 'http://a:8188/, http://b:8188', LORALOOP_ALLOW_PRIVATE_URLS: '1' }, '/');
    expect(c.replicate.apiToken).toBeUndefined();
    expect(c.comfyuiUrls).toEqual(['http://a:8188', 'http://b:8188']);
    expect(c.allowPrivateUrls).toBe(true);
  });
});
