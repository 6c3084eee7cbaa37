import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where a report or an export goes when the caller names no place: a fresh folder under the store's home
 * (`<home>/exports/<project>/<time>-<kind>`). Remote clients cannot know the server's allowed roots; the file
 * reaches them as a resource link and a signed download URL instead of a path.
 */
export async function defaultOutDir(home: string, loraId: string, kind: string, now: Date): Promise<string> {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const dir = path.join(home, 'exports', loraId.replace(/[^A-Za-z0-9._-]+/g, '-'), `${stamp}-${kind}`);
  await mkdir(dir, { recursive: true });
  return dir;
}
