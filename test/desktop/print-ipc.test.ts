// The desktop's print handler (main/desktop/print-ipc.ts) on the Electron double, saving into a temp
// directory: who may ask for a print, which file names are refused and how the rest are made safe, that
// the bytes printToPDF gave land exactly at the path the operator chose with mode 0600 (and nowhere when
// they cancel), and that every failure is an answer while the handler stays in place.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../main/common/log.js';
import { MAX_PDF_NAME_CHARS, PRINT_CHANNEL } from '../../main/desktop/channels.js';
import { consoleWindowOptions } from '../../main/desktop/console-window.js';
import type { WebFrame } from '../../main/desktop/electron-api.js';
import { PDF_OPTIONS, pdfFileName, registerPrintIpc, type PrintIpc, type PrintToPdfAnswer } from '../../main/desktop/print-ipc.js';
import { fakeElectron, FakeWebContents, type FakeElectron, type FakeWindow } from './support/fake-electron.js';
import { CONSOLE_PAGE } from '../../main/desktop/console-scheme.js';

const INDEX = path.resolve('/opt/kura/dist/renderer/index.html');
const PAGE = CONSOLE_PAGE;
const DOCUMENTS = '/home/operator/Documents';

/** A name as a test title: JSON, with anything outside printable ASCII escaped (no bidi override reaches the terminal). */
const shown = (s: string) => JSON.stringify(s).replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);

describe('pdfFileName: the suggested name reduced to a safe base name ending in .pdf', () => {
  it.each(
    [
    ['ceremony-2030-01-01', 'ceremony-2030-01-01.pdf'],
    ['byok transcript.pdf', 'byok transcript.pdf'],
    ['Ceremony.PDF', 'Ceremony.pdf'],
    ['../../etc/passwd', 'passwd.pdf'],
    ['/etc/passwd', 'passwd.pdf'],
    ['.hidden', 'hidden.pdf'],
    ['...x..', 'x.pdf'],
    ['a/b\\c', 'c.pdf'],
    ['C:\\Users\\op\\x.pdf', 'x.pdf'],
    ['reports/', 'reports.pdf'],
    ['bad\u0000na\nme\r\t', 'badname.pdf'],
    ['\u202Efdp.exe', 'fdp.exe.pdf'],
    ['line\u2028break', 'linebreak.pdf'],
    ['a:b*c?d"e<f>g|h', 'a_b_c_d_e_f_g_h.pdf'],
    ['x..pdf', 'x.pdf'],
    ['x.pdf.pdf', 'x.pdf.pdf'],
    ['CON', '_CON.pdf'],
    ['nul.txt', '_nul.txt.pdf'],
    ['console', 'console.pdf'],
    ['鍵の儀式', '鍵の儀式.pdf'],
    ].map(([given, safe]) => ({ given: given!, safe: safe!, title: shown(given!) })),
  )('$title → $safe', ({ given, safe }) => {
    expect(pdfFileName(given)).toBe(safe);
  });

  it.each(['..', '.', '/', '\\', '.pdf', '.PDF', ' . ', '\u0000\u0007', 'a/..', 'x/../', '   '].map((given) => ({ given, title: shown(given) })))(
    '$title leaves nothing, and is refused',
    ({ given }) => {
      expect(pdfFileName(given)).toBeUndefined();
    },
  );

  it('never answers a name with a separator, a leading dot or a control character', () => {
    const nasty = ['../', '..\\', '.', '\u0000', '\n', '/', '\\', 'a', '.pdf', ' ', '\u202E', 'PDF'];
    for (let i = 0; i < 2000; i++) {
      let given = '';
      for (let n = 0; n < 1 + (i % 9); n++) given += nasty[(i * 7 + n * 13 + (i >> 3)) % nasty.length];
      const safe = pdfFileName(given);
      if (safe === undefined) continue;
      expect(safe, JSON.stringify(given)).toMatch(/^[^./\\\p{C}][^/\\\p{C}]*\.pdf$/u);
    }
  });
});

describe('the kura:print-pdf handler', () => {
  let dir: string;
  let electron: FakeElectron;
  let win: FakeWindow;
  let print: PrintIpc;
  let logLines: string[];

  /** Asks for a print as the console page would. */
  const ask = (...args: unknown[]) => electron.ipcMain.invoke(PRINT_CHANNEL, { sender: win.webContents, frame: win.webContents.mainFrame }, ...args) as Promise<PrintToPdfAnswer>;
  /** The operator picks `file` in the save dialog. */
  const choose = (file: string) => (electron.dialog.answerSave = () => ({ canceled: false, filePath: file }));
  const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-print-'));
    electron = fakeElectron();
    new electron.BrowserWindow(consoleWindowOptions({ preload: '/opt/kura/dist/desktop/preload.cjs', indexHtml: INDEX }, false));
    win = electron.windows[0]!;
    await win.loadURL(CONSOLE_PAGE);
    logLines = [];
    print = registerPrintIpc({ ipcMain: electron.ipcMain, win, dialog: electron.dialog, app: electron.app, log: createLogger('debug', (l) => logLines.push(l)) });
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('saves exactly the bytes printToPDF gave (A4, backgrounds) at the chosen path, mode 0600, and answers the path', async () => {
    const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from([0, 1, 2, 0xff, 0xfe]), Buffer.alloc(70_000, 0x41)]);
    win.webContents.pdf = bytes;
    const file = path.join(dir, 'picked by the operator.pdf');
    choose(file);
    expect(await ask('ceremony')).toEqual({ saved: file });
    expect(win.webContents.printed).toEqual([PDF_OPTIONS]);
    expect(PDF_OPTIONS).toMatchObject({ printBackground: true, pageSize: 'A4' });
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(modeOf(file)).toBe(0o600);
    // Nothing else is left in the directory (no temporary file).
    expect(fs.readdirSync(dir)).toEqual(['picked by the operator.pdf']);
  });

  it('asks where to save, modal to the window: the safe name in Documents, a PDF filter, overwrite confirmed', async () => {
    await ask('../../etc/passwd');
    expect(electron.dialog.saves).toHaveLength(1);
    const { window, options } = electron.dialog.saves[0]!;
    expect(window).toBe(win);
    expect(options.defaultPath).toBe(path.join(DOCUMENTS, 'passwd.pdf'));
    expect(options.filters).toEqual([{ name: 'PDF', extensions: ['pdf'] }]);
    // Linux's dialog asks before returning an existing file only when told to.
    expect(options.properties).toContain('showOverwriteConfirmation');
  });

  it("suggests the home directory when the platform has no Documents folder", async () => {
    delete electron.app.paths.documents;
    await ask('.hidden');
    expect(electron.dialog.saves[0]!.options.defaultPath).toBe(path.join('/home/operator', 'hidden.pdf'));
  });

  it('answers saved: null and writes nothing when the operator cancels', async () => {
    electron.dialog.answerSave = () => ({ canceled: true, filePath: '' });
    expect(await ask('ceremony')).toEqual({ saved: null });
    electron.dialog.answerSave = () => ({ canceled: false, filePath: '' });
    expect(await ask('ceremony')).toEqual({ saved: null });
    electron.dialog.answerSave = () => ({ canceled: true });
    expect(await ask('ceremony')).toEqual({ saved: null });
    expect(electron.dialog.saves).toHaveLength(3);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('replaces a file the dialog confirmed, which then holds the new PDF with mode 0600', async () => {
    const file = path.join(dir, 'old.pdf');
    fs.writeFileSync(file, 'an older transcript');
    fs.chmodSync(file, 0o644);
    choose(file);
    expect(await ask('ceremony')).toEqual({ saved: file });
    expect(fs.readFileSync(file).equals(win.webContents.pdf as Buffer)).toBe(true);
    expect(modeOf(file)).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['old.pdf']);
  });

  it('saves under a name as long as the file system allows (254 bytes)', async () => {
    const file = path.join(dir, `${'t'.repeat(250)}.pdf`);
    choose(file);
    expect(await ask('ceremony')).toEqual({ saved: file });
    expect(fs.readdirSync(dir)).toEqual([path.basename(file)]);
  });

  it('writes to exactly the path the dialog answered, without adding .pdf to it', async () => {
    const file = path.join(dir, 'typed-without-extension');
    choose(file);
    expect(await ask('ceremony')).toEqual({ saved: file });
    expect(fs.readdirSync(dir)).toEqual(['typed-without-extension']);
  });

  describe('refuses a sender other than the console page, before anything is printed or asked', () => {
    const refusedFrom = async (from: { sender: FakeWebContents; frame: WebFrame | null }) => {
      expect(await electron.ipcMain.invoke(PRINT_CHANNEL, from, 'ceremony')).toMatchObject({ error: { code: 'AccessDenied' } });
      expect(win.webContents.printed).toEqual([]);
      expect(electron.dialog.saves).toEqual([]);
      expect(logLines.join('')).toContain('refused a print');
    };
    it('another window', async () => {
      const other = new FakeWebContents(PAGE);
      await refusedFrom({ sender: other, frame: other.mainFrame });
    });
    it('a frame inside the console page', async () => {
      await refusedFrom({ sender: win.webContents, frame: { url: PAGE, parent: win.webContents.mainFrame } });
    });
    it('the window showing another page', async () => {
      for (const url of ['https://example.com/', pathToFileURL(path.resolve('/tmp/index.html')).href, pathToFileURL(INDEX).href, 'about:blank']) {
        await refusedFrom({ sender: win.webContents, frame: { url, parent: null } });
      }
    });
    it('a frame that is gone', async () => {
      await refusedFrom({ sender: win.webContents, frame: null });
    });
  });

  it('refuses a file name that is not a string of 1 to 128 characters, or that leaves nothing', async () => {
    const refused = [undefined, null, 42, true, {}, ['ceremony'], '', 'x'.repeat(MAX_PDF_NAME_CHARS + 1), '..', '/', '.pdf', '\u0000'];
    for (const name of refused) {
      expect(await ask(name), JSON.stringify(name)).toMatchObject({ error: { code: 'Validation' } });
    }
    expect(await ask()).toMatchObject({ error: { code: 'Validation' } });
    expect(win.webContents.printed).toEqual([]);
    expect(electron.dialog.saves).toEqual([]);
  });

  it('counts characters, not UTF-16 units: 128 of them pass', async () => {
    for (const name of ['x'.repeat(MAX_PDF_NAME_CHARS), '🔑'.repeat(MAX_PDF_NAME_CHARS)]) {
      expect(await ask(name)).toEqual({ saved: null });
    }
    expect(await ask('🔑'.repeat(MAX_PDF_NAME_CHARS + 1))).toMatchObject({ error: { code: 'Validation' } });
    expect(electron.dialog.saves.map((s) => path.basename(s.options.defaultPath))).toEqual([`${'x'.repeat(128)}.pdf`, `${'🔑'.repeat(128)}.pdf`]);
  });

  it('answers a printToPDF that throws with PrintFailed, asks nothing, and stays registered and usable', async () => {
    win.webContents.pdf = new Error('render process gone: /secret/path');
    expect(await ask('ceremony')).toEqual({ error: { code: 'PrintFailed', message: 'The page could not be printed to PDF.' } });
    expect(electron.dialog.saves).toEqual([]);
    expect(electron.ipcMain.handlers.has(PRINT_CHANNEL)).toBe(true);
    expect(logLines.join('')).not.toContain('/secret/path');
    win.webContents.pdf = Buffer.from('%PDF-1.7 second try');
    const file = path.join(dir, 'again.pdf');
    choose(file);
    expect(await ask('ceremony')).toEqual({ saved: file });
    expect(fs.readFileSync(file, 'utf8')).toBe('%PDF-1.7 second try');
  });

  it('answers a file that cannot be written with SaveFailed, and leaves no temporary file', async () => {
    choose(path.join(dir, 'missing-dir', 'x.pdf'));
    expect(await ask('ceremony')).toMatchObject({ error: { code: 'SaveFailed', message: expect.stringContaining('ENOENT') } });
    // A directory where the file should go: the PDF is written beside it, and the rename over it fails.
    fs.mkdirSync(path.join(dir, 'a-directory.pdf'));
    choose(path.join(dir, 'a-directory.pdf'));
    expect(await ask('ceremony')).toMatchObject({ error: { code: 'SaveFailed' } });
    expect(fs.readdirSync(dir)).toEqual(['a-directory.pdf']);
    expect(fs.readdirSync(path.join(dir, 'a-directory.pdf'))).toEqual([]);
    expect(electron.ipcMain.handlers.has(PRINT_CHANNEL)).toBe(true);
  });

  it('answers a save dialog that fails, or answers a relative path, with SaveFailed', async () => {
    electron.dialog.answerSave = () => Promise.reject(new Error('the window is gone'));
    expect(await ask('ceremony')).toMatchObject({ error: { code: 'SaveFailed' } });
    choose('relative.pdf');
    expect(await ask('ceremony')).toMatchObject({ error: { code: 'SaveFailed' } });
    expect(fs.existsSync(path.resolve('relative.pdf'))).toBe(false);
  });

  it('prints one at a time: a second request while the dialog is open is refused, and the next one after runs', async () => {
    let pick: (file: string) => void = () => undefined;
    electron.dialog.answerSave = () => new Promise((r) => (pick = (file) => r({ canceled: false, filePath: file })));
    const first = ask('first');
    await new Promise((r) => setTimeout(r, 0));
    expect(electron.dialog.saves).toHaveLength(1);
    expect(await ask('second')).toMatchObject({ error: { code: 'Busy' } });
    pick(path.join(dir, 'first.pdf'));
    expect(await first).toEqual({ saved: path.join(dir, 'first.pdf') });
    choose(path.join(dir, 'third.pdf'));
    expect(await ask('third')).toEqual({ saved: path.join(dir, 'third.pdf') });
    expect(win.webContents.printed).toHaveLength(2);
  });

  it('dispose removes the handler', () => {
    expect(electron.ipcMain.handlers.has(PRINT_CHANNEL)).toBe(true);
    print.dispose();
    expect(electron.ipcMain.handlers.has(PRINT_CHANNEL)).toBe(false);
  });
});
