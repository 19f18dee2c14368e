// The WebAssembly AES-256 core runs in Chromium (Debian's, driven by playwright-core) and gives the
// same bytes as in Node: the page loads main/crypto/wasm-aead-core.ts (transpiled as is, no bundler)
// and the .wasm from a local node:http server, seals, opens and wraps fixed inputs, and the results
// are compared with node:crypto and with the core in Node.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WASM_CORE_PATH, wasmAesCore } from '../../main/crypto/wasm-aead.js';
import { ROOT } from '../support/kura-process.js';

const CHROMIUM = '/usr/bin/chromium';

/** Deterministic test bytes: SHA-256 in counter mode over a label. */
function det(label: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, off = 0; off < n; i++, off += 32) createHash('sha256').update(`${label}/${i}`).digest().copy(out, off);
  return out;
}

interface GcmCase {
  key: string;
  iv: string;
  aad: string;
  pt: string;
}
interface WrapCase {
  kek: string;
  data: string;
  padding: boolean;
}
interface PageResult {
  gcm: { sealed: string; opened: string; forged: string }[];
  wrap: { wrapped: string; unwrapped: string; tampered: string }[];
  destroyed: string;
}

const gcmCases: GcmCase[] = [];
for (const ptLen of [0, 1, 15, 16, 17, 31, 32, 33, 64, 100, 127, 128, 129, 1000, 4096, 70_000]) {
  for (const ivLen of [12, 1, 8, 16, 60]) {
    const aadLen = (ptLen + ivLen) % 4 === 0 ? 0 : (ptLen * 7 + ivLen) % 50;
    const id = `${ptLen}/${ivLen}`;
    gcmCases.push({
      key: det(`key ${id}`, 32).toString('hex'),
      iv: det(`iv ${id}`, ivLen).toString('hex'),
      aad: det(`aad ${id}`, aadLen).toString('hex'),
      pt: det(`pt ${id}`, ptLen).toString('hex'),
    });
  }
}
const wrapCases: WrapCase[] = [
  ...[16, 24, 32, 40, 64].map((n) => ({ kek: det(`kek kw ${n}`, 32).toString('hex'), data: det(`data kw ${n}`, n).toString('hex'), padding: false })),
  ...[1, 7, 8, 9, 20, 32, 100].map((n) => ({ kek: det(`kek kwp ${n}`, 32).toString('hex'), data: det(`data kwp ${n}`, n).toString('hex'), padding: true })),
];

// The module the page imports: runs every case on the core and reports hex strings.
const PAGE_MODULE = `
import { instantiateWasmAesCore } from './crypto/wasm-aead-core.js';
const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (s) => new Uint8Array((s.match(/../g) || []).map((h) => parseInt(h, 16)));
export async function run(cases) {
  const core = await instantiateWasmAesCore(await (await fetch('/aes_gcm.wasm')).arrayBuffer());
  const gcm = cases.gcm.map((c) => {
    const key = core.importGcmKey(unhex(c.key));
    const [iv, aad] = [unhex(c.iv), unhex(c.aad)];
    const sealed = key.seal(iv, unhex(c.pt), aad);
    const opened = key.open(iv, sealed, aad);
    const bad = sealed.slice();
    bad[0] ^= 1;
    let forged = 'accepted';
    try { key.open(iv, bad, aad); } catch (e) { forged = e.name; }
    key.destroy();
    return { sealed: hex(sealed), opened: hex(opened), forged };
  });
  const wrap = cases.wrap.map((c) => {
    const kek = unhex(c.kek);
    const wrapped = core.wrapKey(kek, unhex(c.data), { padding: c.padding });
    const unwrapped = core.unwrapKey(kek, wrapped, { padding: c.padding });
    const bad = wrapped.slice();
    bad[bad.length - 1] ^= 0x80;
    let tampered = 'accepted';
    try { core.unwrapKey(kek, bad, { padding: c.padding }); } catch (e) { tampered = e.name; }
    return { wrapped: hex(wrapped), unwrapped: hex(unwrapped), tampered };
  });
  const key = core.importGcmKey(new Uint8Array(32));
  key.destroy();
  let destroyed = 'usable';
  try { key.seal(new Uint8Array(12), new Uint8Array(1)); } catch (e) { destroyed = e.message; }
  return { gcm, wrap, destroyed };
}
`;

/** main/crypto/<name>.ts transpiled to a browser ES module (types stripped, imports kept). */
function transpiled(name: string): string {
  const source = readFileSync(path.join(ROOT, 'main', 'crypto', `${name}.ts`), 'utf8');
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
}

describe('the WebAssembly core in Chromium', () => {
  let server: http.Server;
  let context: BrowserContext;
  let userDataDir: string;
  let origin: string;

  beforeAll(async () => {
    const files: Record<string, [string, string | Buffer]> = {
      '/': ['text/html', '<!doctype html><title>kura aes core</title>'],
      '/test.js': ['text/javascript', PAGE_MODULE],
      '/aes_gcm.wasm': ['application/wasm', readFileSync(WASM_CORE_PATH)],
    };
    for (const name of ['aead', 'key-wrap', 'wasm-aead-core']) files[`/crypto/${name}.js`] = ['text/javascript', transpiled(name)];
    server = http.createServer((req, res) => {
      const file = files[new URL(req.url ?? '/', 'http://x').pathname];
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1]);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'kura-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('seals, opens and wraps exactly as node:crypto and the core in Node do', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/`);
    const result = (await page.evaluate(
      `import('/test.js').then((m) => m.run(${JSON.stringify({ gcm: gcmCases, wrap: wrapCases })}))`,
    )) as PageResult;
    expect(errors).toEqual([]);

    expect(result.gcm).toHaveLength(gcmCases.length);
    for (const [i, c] of gcmCases.entries()) {
      const [key, iv, aad, pt] = [c.key, c.iv, c.aad, c.pt].map((h) => Buffer.from(h, 'hex')) as Buffer[];
      const cipher = createCipheriv('aes-256-gcm', key!, iv!, { authTagLength: 16 });
      cipher.setAAD(aad!);
      const expected = Buffer.concat([cipher.update(pt!), cipher.final(), cipher.getAuthTag()]).toString('hex');
      const inNode = wasmAesCore.importGcmKey(key!);
      const nodeCore = Buffer.from(inNode.seal(iv!, pt!, aad!)).toString('hex');
      inNode.destroy();
      const got = result.gcm[i]!;
      expect(got.sealed, `case ${i}: ${pt!.length} bytes, IV ${iv!.length}, AAD ${aad!.length}`).toBe(expected);
      expect(got.sealed).toBe(nodeCore);
      expect(got.opened).toBe(c.pt);
      expect(got.forged).toBe('AeadAuthenticationError');
    }

    expect(result.wrap).toHaveLength(wrapCases.length);
    for (const [i, c] of wrapCases.entries()) {
      const [kek, data] = [Buffer.from(c.kek, 'hex'), Buffer.from(c.data, 'hex')];
      const cipher = createCipheriv(c.padding ? 'id-aes256-wrap-pad' : 'id-aes256-wrap', kek, Buffer.from(c.padding ? 'a65959a6' : 'a6a6a6a6a6a6a6a6', 'hex'));
      const expected = Buffer.concat([cipher.update(data), cipher.final()]).toString('hex');
      const got = result.wrap[i]!;
      expect(got.wrapped, `${c.padding ? 'KWP' : 'KW'} ${data.length} bytes`).toBe(expected);
      expect(got.wrapped).toBe(Buffer.from(wasmAesCore.wrapKey(kek, data, { padding: c.padding })).toString('hex'));
      expect(got.unwrapped).toBe(c.data);
      expect(got.tampered).toBe('KeyWrapIntegrityError');
    }
    expect(result.destroyed).toMatch(/after destroy/);
    await page.close();
  });
});
