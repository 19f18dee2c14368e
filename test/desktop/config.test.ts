// The desktop's settings (main/desktop/config.ts): its options and KURA_* variables, their defaults (the
// data directory `kura serve` uses, ./.kura-dev with --dev), and the appliance configuration they make.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DesktopConfigError, desktopApplianceConfig, desktopSettings, switchesAmong, WEAKENING_SWITCHES } from '../../main/desktop/config.js';

const where = { isPackaged: false, cwd: '/work/here', home: '/home/op' };

describe('desktopSettings', () => {
  it('defaults to the user data directory, port 7420, info, not dev', () => {
    expect(desktopSettings([], {}, where)).toEqual({
      settings: { dev: false, dataDir: path.resolve('/home/op/.local/share/kura'), port: 7420, logLevel: 'info', devTools: true },
      ignored: [],
      weakening: [],
    });
    expect(desktopSettings([], { XDG_DATA_HOME: '/xdg' }, where).settings.dataDir).toBe(path.resolve('/xdg/kura'));
  });

  it('--dev runs a dev appliance in ./.kura-dev, as npm start does', () => {
    expect(desktopSettings(['--dev'], {}, where).settings).toMatchObject({ dev: true, dataDir: path.resolve('/work/here/.kura-dev') });
  });

  it('takes options in either form, ahead of the environment', () => {
    const env = { KURA_DATA_DIR: '/env/dir', KURA_PORT: '7500', KURA_LOG_LEVEL: 'warn' };
    expect(desktopSettings([], env, where).settings).toMatchObject({ dataDir: path.resolve('/env/dir'), port: 7500, logLevel: 'warn' });
    expect(desktopSettings(['--data-dir', 'rel', '--port=0', '--log-level', 'debug'], env, where).settings).toMatchObject({
      dataDir: path.resolve('/work/here/rel'),
      port: 0,
      logLevel: 'debug',
    });
  });

  it('leaves arguments that are not its own to Electron', () => {
    const { settings, ignored } = desktopSettings(['--inspect=0', '--dev', 'dist/desktop/main.js', '--remote-debugging-port=0'], {}, where);
    expect(settings.dev).toBe(true);
    expect(ignored).toEqual(['--inspect=0', 'dist/desktop/main.js', '--remote-debugging-port=0']);
  });

  it('a packaged app refuses the switches that let a debugger drive it, unless KURA_DEVTOOLS=1', () => {
    const packaged = { ...where, isPackaged: true, platform: 'linux' as const };
    for (const arg of ['--remote-debugging-port=9222', '-remote-debugging-port=0', '--remote-debugging-pipe', '--inspect', '--inspect=0', '--inspect-brk=9229', '--inspect-port=1']) {
      expect(() => desktopSettings([arg], {}, packaged), arg).toThrow(DesktopConfigError);
      expect(() => desktopSettings([arg], {}, packaged), arg).toThrow(/KURA_DEVTOOLS=1/);
      expect(desktopSettings([arg], { KURA_DEVTOOLS: '1' }, packaged).ignored, arg).toEqual([arg]);
      // An unpackaged app (npm run desktop) has devtools anyway.
      expect(desktopSettings([arg], {}, { ...where, platform: 'linux' }).ignored, arg).toEqual([arg]);
    }
    // Chromium on Windows also reads `/switch` and any case.
    expect(() => desktopSettings(['/Remote-Debugging-Port=9222'], {}, { ...packaged, platform: 'win32' })).toThrow(DesktopConfigError);
    expect(desktopSettings(['/remote-debugging-port=9222'], {}, packaged).ignored).toEqual(['/remote-debugging-port=9222']);
    // Neither a similar name nor a value is a switch.
    expect(desktopSettings(['--inspector', 'inspect', '--enable-logging'], {}, packaged).ignored).toEqual(['--inspector', 'inspect', '--enable-logging']);
  });

  it("a packaged app refuses the switches that take down the page's walls, KURA_DEVTOOLS=1 or not; an unpackaged one leaves them to Electron", () => {
    const packaged = { ...where, isPackaged: true, platform: 'linux' as const };
    for (const arg of ['--no-sandbox', '-no-sandbox', '--disable-web-security', '--disable-site-isolation-trials']) {
      for (const env of [{}, { KURA_DEVTOOLS: '1' }]) {
        expect(() => desktopSettings([arg], env, packaged), arg).toThrow(DesktopConfigError);
        expect(() => desktopSettings([arg], env, packaged), arg).toThrow(/turns off a protection of the console's window/);
      }
      expect(desktopSettings([arg], {}, { ...where, platform: 'linux' }).ignored, arg).toEqual([arg]);
    }
    expect(() => desktopSettings(['/No-Sandbox'], {}, { ...packaged, platform: 'win32' })).toThrow(DesktopConfigError);
    // Other switches of Chromium's are Electron's business.
    expect(desktopSettings(['--no-sandboxing', '--disable-gpu', '--enable-logging'], {}, packaged).ignored).toEqual(['--no-sandboxing', '--disable-gpu', '--enable-logging']);
    expect(switchesAmong(['--dev', '--no-sandbox', 'x', '--disable-web-security=1'], WEAKENING_SWITCHES, 'linux')).toEqual(['--no-sandbox', '--disable-web-security=1']);
  });

  it("refuses a switch given as --data-dir's value: Chromium reads every argument that looks like a switch as one", () => {
    const packaged = { ...where, isPackaged: true, platform: 'linux' as const };
    expect(() => desktopSettings(['--data-dir', '-no-sandbox'], {}, packaged)).toThrow(/turns off a protection/);
    expect(() => desktopSettings(['--data-dir', '-remote-debugging-port=9222'], {}, packaged)).toThrow(/KURA_DEVTOOLS=1/);
    expect(() => desktopSettings(['--data-dir', '/no-sandbox'], {}, { ...packaged, platform: 'win32' })).toThrow(DesktopConfigError);
    // A value that is no switch is the data directory, as before.
    expect(desktopSettings(['--data-dir', '/srv/kura'], {}, packaged).settings.dataDir).toBe('/srv/kura');
  });

  it("tells an unpackaged app (which warns of them) every weakening switch, --data-dir's value included", () => {
    const unpackaged = { ...where, platform: 'linux' as const };
    const hidden = desktopSettings(['--data-dir', '-no-sandbox'], {}, unpackaged);
    expect(hidden.ignored).toEqual([]);
    expect(hidden.weakening).toEqual(['-no-sandbox']);
    expect(desktopSettings(['--dev', '--disable-web-security=1', '--disable-gpu'], {}, unpackaged).weakening).toEqual(['--disable-web-security=1']);
    expect(desktopSettings(['--dev', '--disable-gpu'], {}, unpackaged).weakening).toEqual([]);
  });

  it('names the setting that is wrong, and where it came from', () => {
    expect(() => desktopSettings(['--port', '70000'], {}, where)).toThrow(new DesktopConfigError('--port must be a port number from 0 to 65535, not "70000".'));
    expect(() => desktopSettings([], { KURA_PORT: 'x' }, where)).toThrow(/^KURA_PORT must be a port number/);
    expect(() => desktopSettings(['--log-level', 'loud'], {}, where)).toThrow(/^--log-level must be one of debug, info, warn, error/);
    expect(() => desktopSettings(['--data-dir'], {}, where)).toThrow('--data-dir needs a value.');
    expect(() => desktopSettings(['--data-dir', '--dev'], {}, where)).toThrow('--data-dir needs a value.');
  });

  it('has devtools in an unpackaged app, and in a packaged one only with KURA_DEVTOOLS=1', () => {
    const packaged = { ...where, isPackaged: true };
    expect(desktopSettings([], {}, packaged).settings.devTools).toBe(false);
    expect(desktopSettings([], { KURA_DEVTOOLS: 'yes' }, packaged).settings.devTools).toBe(false);
    expect(desktopSettings([], { KURA_DEVTOOLS: '1' }, packaged).settings.devTools).toBe(true);
  });
});

describe('desktopApplianceConfig', () => {
  it('listens on loopback only, with the settings given', () => {
    const { settings } = desktopSettings(['--dev', '--port', '0'], {}, where);
    expect(desktopApplianceConfig(settings)).toMatchObject({ host: '127.0.0.1', port: 0, dev: true, dataDir: path.resolve('/work/here/.kura-dev') });
  });
});
