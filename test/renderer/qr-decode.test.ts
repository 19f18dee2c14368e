// The QR codes a BYOK ceremony shows (renderer/lib/qr.ts) decode to exactly the text they carry, read
// back by an independent reader (jsQR, as DESIGN.md names it for tests): the SVG path is turned back
// into pixels, quiet zone included, and scanned. Counting the path's elements, as the wizard's test
// does, would pass a code that no phone or scanner can read (a run drawn one module short, a missing
// quiet zone, the wrong error correction for the data).
import { randomBytes } from 'node:crypto';
import jsQRModule from 'jsqr';
import { describe, expect, it } from 'vitest';
import { qrPath } from '../../renderer/lib/qr.js';

// jsqr is CommonJS whose types say `export default`: under NodeNext the default import is the module.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as typeof jsQRModule.default;

/** Pixels per module: enough for the reader's binarizer, small enough to stay quick. */
const SCALE = 4;

/** The dark modules the path draws ("M{x} {y}h{run}v1h-{run}z" per run), as an RGBA image. */
function rasterize(d: string, size: number): { data: Uint8ClampedArray; width: number; height: number } {
  const width = size * SCALE;
  const data = new Uint8ClampedArray(width * width * 4).fill(255);
  const runs = [...d.matchAll(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g)];
  // Every part of the path is a run of this shape: nothing else was drawn that the reader would miss.
  expect(runs.map((m) => m[0]).join('')).toBe(d);
  for (const m of runs) {
    const [x, y, run, back] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    expect(back).toBe(run);
    for (let py = y * SCALE; py < (y + 1) * SCALE; py++) {
      for (let px = x * SCALE; px < (x + run) * SCALE; px++) {
        const i = (py * width + px) * 4;
        data[i] = data[i + 1] = data[i + 2] = 0;
      }
    }
  }
  return { data, width, height: width };
}

function scan(text: string): string | undefined {
  const { d, size } = qrPath(text);
  const img = rasterize(d, size);
  return jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' })?.data;
}

describe('the BYOK ceremony\'s QR codes', () => {
  it('decode to the text they carry, from a few characters to an RSA-4096 wrapping key in base64', () => {
    // GetParametersForImport's sizes: an RSA_4096 public key (DER SubjectPublicKeyInfo) is 550 bytes,
    // 736 in base64; an import token is a few hundred bytes. And the short and odd cases.
    for (const bytes of [1, 16, 300, 550, 1200]) {
      const text = randomBytes(bytes).toString('base64');
      expect(scan(text), `${bytes} bytes in base64`).toBe(text);
    }
    expect(scan('alias/ümlaut ✓')).toBe('alias/ümlaut ✓');
  });

  it('keep a quiet zone of four modules on every side', () => {
    const { d, size } = qrPath('quiet zone');
    const xs = [...d.matchAll(/M(\d+) (\d+)h(\d+)/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[1]) + Number(m[3])]);
    expect(Math.min(...xs.map(([x]) => x!))).toBe(4);
    expect(Math.min(...xs.map(([, y]) => y!))).toBe(4);
    expect(Math.max(...xs.map(([, , end]) => end!))).toBe(size - 4);
    expect(Math.max(...xs.map(([, y]) => y! + 1))).toBe(size - 4);
  });
});
