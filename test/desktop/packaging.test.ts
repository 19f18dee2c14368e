// The packaged app's Electron fuses and asar (electron-builder.yml), as docs/desktop.md and SECURITY.md
// describe them: a packaged Kura is not a Node.js to whoever starts it (no ELECTRON_RUN_AS_NODE,
// NODE_OPTIONS or --inspect), loads only its own app.asar and checks it, and gives file: pages no extra
// privileges; and what its `files:` list selects is enough to run the appliance, licences included.
// electron-builder is not installed here, so the file is read as the flat YAML it is, not run, and the
// selection is copied by hand.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { ROOT, startKura, type KuraProcess } from '../support/kura-process.js';

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

/** The plain paths of the `files:` list (no globs, no exclusions): what the app reads besides dist/ and node_modules/. */
function listedFiles(): string[] {
  const lines = CONFIG.split('\n');
  const start = lines.indexOf('files:');
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}- "?([^"]+)"?$/.exec(line);
    if (!m) break;
    if (!/[*!{]/.test(m[1]!)) out.push(m[1]!);
  }
  return out;
}

describe("the packaged app's files (electron-builder.yml `files:`)", () => {
  let kura: KuraProcess | undefined;
  const layout = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-packaged-'));
  afterAll(async () => {
    await kura?.stop();
    fs.rmSync(layout, { recursive: true, force: true });
  });

  it('ship the licences: Kura\'s own, and the Apache-2.0 LICENSE and NOTICE of the AWS model it carries', () => {
    expect(listedFiles()).toEqual(expect.arrayContaining(['LICENSE', 'main/api/kms/model/LICENSE', 'main/api/kms/model/NOTICE']));
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toContain('Apache License');
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
  });

  it('are enough to run the appliance: laid out as the list selects them, it starts and answers a KMS Encrypt', async () => {
    // What the list selects: package.json, dist/ and each plain file; node_modules is the checkout's
    // (the list takes all of it). bin/kura.js is not packaged: it stands in for the desktop's main
    // process as what starts the appliance from the package's dist/.
    for (const file of listedFiles()) {
      fs.mkdirSync(path.dirname(path.join(layout, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), path.join(layout, file));
    }
    fs.cpSync(path.join(ROOT, 'dist'), path.join(layout, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.tsbuildinfo') });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(layout, 'node_modules'), 'dir');
    fs.mkdirSync(path.join(layout, 'bin'));
    fs.copyFileSync(path.join(ROOT, 'bin', 'kura.js'), path.join(layout, 'bin', 'kura.js'));

    kura = await startKura({ bin: path.join(layout, 'bin', 'kura.js'), cwd: layout });
    const kms = kmsClient(kura);
    try {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
      const sealed = await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId!, Plaintext: Buffer.from('from the package') }));
      expect(sealed.CiphertextBlob?.length).toBeGreaterThan(0);
    } finally {
      kms.destroy();
    }
  }, 60_000);
});
