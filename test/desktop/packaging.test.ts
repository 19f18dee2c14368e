// The packaged app's Electron fuses and asar (electron-builder.yml), as docs/desktop.md and SECURITY.md
// describe them: a packaged Kura is not a Node.js to whoever starts it (no ELECTRON_RUN_AS_NODE,
// NODE_OPTIONS or --inspect), loads only its own app.asar and checks it, and gives file: pages no extra
// privileges. electron-builder is not installed here, so the file is read as the flat `key: value` block
// it is, not run.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/kura-process.js';

const CONFIG = fs.readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8');

/** The `key: value` lines of a top-level block of the YAML file (indented two spaces), comments left out. */
function block(name: string): Record<string, string> {
  const lines = CONFIG.split('\n');
  const start = lines.indexOf(`${name}:`);
  if (start < 0) return {};
  const out: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const m = /^ {2}([A-Za-z]+): (\S+)$/.exec(line);
    if (!m) break;
    out[m[1]!] = m[2]!;
  }
  return out;
}

describe('the packaged app (electron-builder.yml)', () => {
  it('flips the fuses that keep it from being run as Node.js or loading other code', () => {
    expect(block('electronFuses')).toEqual({
      runAsNode: 'false',
      enableNodeOptionsEnvironmentVariable: 'false',
      enableNodeCliInspectArguments: 'false',
      onlyLoadAppFromAsar: 'true',
      enableEmbeddedAsarIntegrityValidation: 'true',
      enableCookieEncryption: 'true',
      grantFileProtocolExtraPrivileges: 'false',
    });
  });

  it('packs the app into an asar, whose integrity the fuses check', () => {
    expect(CONFIG).toMatch(/^asar: true$/m);
  });
});
