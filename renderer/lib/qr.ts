// QR codes for the files a BYOK ceremony carries to the wrapping machine (DESIGN.md: "exported to
// files/QR"), drawn as one SVG path so the CSP needs no inline style or data URL. The encoder is
// qrcode-generator (dependency-free); error correction M, byte mode, the smallest version that fits.
import qrcode from 'qrcode-generator';

export interface QrPath {
  /** Modules per side, with the quiet zone. */
  size: number;
  /** One SVG path of unit squares for the dark modules. */
  d: string;
}

const QUIET = 4;

export function qrPath(text: string): QrPath {
  const qr = qrcode(0, 'M');
  // Byte mode takes the text's UTF-8 bytes, as readers expect: the encoder's own conversion keeps only
  // the low byte of each UTF-16 unit, which garbles anything beyond Latin-1 (the ceremony's base64 is
  // ASCII, which both read alike).
  qr.addData(String.fromCharCode(...new TextEncoder().encode(text)), 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const parts: string[] = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      // Runs of dark modules in a row become one rectangle.
      if (!qr.isDark(r, c)) continue;
      let run = 1;
      while (c + run < n && qr.isDark(r, c + run)) run++;
      parts.push(`M${c + QUIET} ${r + QUIET}h${run}v1h-${run}z`);
      c += run - 1;
    }
  }
  return { size: n + 2 * QUIET, d: parts.join('') };
}
