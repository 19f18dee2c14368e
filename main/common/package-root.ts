// Where Kura's own files are at run time (the WASM core, the built console): the nearest directory
// upwards whose package.json is Kura's, so that the same code finds them from main/ (tests run the
// TypeScript) and from dist/ (the build).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'kura') return dir;
      } catch {
        // not a readable manifest: keep walking up
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find Kura's package.json above ${from}`);
  }
}
