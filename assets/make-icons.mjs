#!/usr/bin/env node
// Makes Kura's app icon — a key on a storehouse-dark rounded square (kura: a storehouse) — as
// assets/icon.svg and as PNGs of 512 and 256 px (electron-builder makes the .icns and .ico from them).
// One geometry drives both: the SVG is written from it, and the PNGs are drawn from it by this script
// (4×4 samples a pixel) and encoded with node:zlib, so no image tool or download is needed. Run once;
// its outputs are committed: `node assets/make-icons.mjs`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));

// The geometry, on a 512 × 512 canvas.
const BG = { r: 96, color: [0x1d, 0x27, 0x3f] };
const KEY = [0xf2, 0xc1, 0x4e];
const BOW = { cx: 168, cy: 256, outer: 92, inner: 42 };
/** Shaft and teeth: [x0, y0, x1, y1]. */
const RECTS = [
  [240, 234, 432, 278],
  [352, 278, 384, 336],
  [400, 278, 432, 318],
];

function svg() {
  const { cx, cy, outer, inner } = BOW;
  const ring = `M${cx - outer} ${cy}a${outer} ${outer} 0 1 0 ${2 * outer} 0a${outer} ${outer} 0 1 0 ${-2 * outer} 0Z M${cx - inner} ${cy}a${inner} ${inner} 0 1 0 ${2 * inner} 0a${inner} ${inner} 0 1 0 ${-2 * inner} 0Z`;
  const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">',
    '  <title>Kura</title>',
    `  <rect width="512" height="512" rx="${BG.r}" fill="${hex(BG.color)}"/>`,
    `  <g fill="${hex(KEY)}">`,
    `    <path fill-rule="evenodd" d="${ring}"/>`,
    ...RECTS.map(([x0, y0, x1, y1]) => `    <rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}"/>`),
    '  </g>',
    '</svg>',
    '',
  ].join('\n');
}

const inRoundedSquare = (x, y) => {
  const r = BG.r;
  const dx = Math.max(r - x, 0, x - (512 - r));
  const dy = Math.max(r - y, 0, y - (512 - r));
  return x >= 0 && y >= 0 && x <= 512 && y <= 512 && dx * dx + dy * dy <= r * r;
};
const inKey = (x, y) => {
  const d2 = (x - BOW.cx) ** 2 + (y - BOW.cy) ** 2;
  if (d2 <= BOW.outer ** 2 && d2 >= BOW.inner ** 2) return true;
  return RECTS.some(([x0, y0, x1, y1]) => x >= x0 && x <= x1 && y >= y0 && y <= y1);
};

/** RGBA pixels of the icon at `size` px, each pixel the mean of 4×4 samples. */
function draw(size) {
  const px = Buffer.alloc(size * size * 4);
  const scale = 512 / size;
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let pxi = 0; pxi < size; pxi++) {
      let bg = 0;
      let key = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (pxi + (sx + 0.5) / n) * scale;
          const y = (py + (sy + 0.5) / n) * scale;
          if (!inRoundedSquare(x, y)) continue;
          if (inKey(x, y)) key++;
          else bg++;
        }
      }
      const cover = bg + key;
      const o = (py * size + pxi) * 4;
      if (cover === 0) continue;
      // Colour of the covered part, alpha of the coverage (straight alpha, as PNG wants).
      for (let c = 0; c < 3; c++) px[o + c] = Math.round((BG.color[c] * bg + KEY[c] * key) / cover);
      px[o + 3] = Math.round((255 * cover) / (n * n));
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG (RFC 2083): 8-bit RGBA, no interlace, each row with filter type 0. */
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

fs.writeFileSync(path.join(here, 'icon.svg'), svg());
for (const size of [512, 256]) fs.writeFileSync(path.join(here, `icon-${size}.png`), png(size, draw(size)));
console.log('wrote assets/icon.svg, assets/icon-512.png, assets/icon-256.png');
