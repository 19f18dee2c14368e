// The known-token table: the IDs the design names map to the right token and module, a CCID
// reader is recognised by its interface class, an ID entry wins over the class, and the table has
// no duplicate or malformed entry.
import { describe, expect, it } from 'vitest';
import { CCID_INTERFACE_CLASS, KNOWN_TOKENS, matchToken, multiarch, vidPid } from '../../../main/devices/usb/known-tokens.js';

describe('the known-token table', () => {
  it('has each vendor:product once, and every entry names a source', () => {
    const seen = new Set<string>();
    for (const t of KNOWN_TOKENS) {
      expect(t.source.length, t.name).toBeGreaterThan(0);
      expect(t.productIds.length, t.name).toBeGreaterThan(0);
      for (const pid of t.productIds) {
        const id = vidPid(t.vendorId, pid);
        expect(seen.has(id), id).toBe(false);
        seen.add(id);
      }
      for (const m of t.modules) expect(m.path.endsWith(m.file), m.path).toBe(true);
    }
  });

  it.each([
    ['1050:0030', 'YubiHSM 2', 'hsm', 'yubihsm_pkcs11.so'],
    ['1050:0404', 'YubiKey 4/5 (PIV)', 'security-key', 'libykcs11.so'],
    ['1050:0407', 'YubiKey 4/5 (PIV)', 'security-key', 'libykcs11.so'],
    ['1050:0116', 'YubiKey NEO (PIV)', 'security-key', 'libykcs11.so'],
    ['20a0:4230', 'Nitrokey HSM 2', 'smartcard-hsm', 'opensc-pkcs11.so'],
    ['20a0:4108', 'Nitrokey Pro', 'security-key', 'opensc-pkcs11.so'],
    ['20a0:4211', 'Nitrokey Start', 'security-key', 'opensc-pkcs11.so'],
    ['04e6:5817', 'SmartCard-HSM USB token', 'smartcard-hsm', 'opensc-pkcs11.so'],
    ['0529:0620', 'SafeNet eToken 5100/5110', 'pki-token', 'libeTPkcs11.so'],
  ])('%s is %s', (id, name, kind, file) => {
    const [vid, pid] = id.split(':').map((x) => parseInt(x, 16)) as [number, number];
    const m = matchToken(vid, pid, null);
    expect(m).toMatchObject({ name, kind, matchedBy: 'id' });
    expect(m!.modules[0]!.file).toBe(file);
  });

  it('offers OpenSC as the second module for a YubiKey, and says where each comes from', () => {
    const m = matchToken(0x1050, 0x0406, null)!;
    expect(m.modules.map((x) => [x.file, x.package, x.source])).toEqual([
      ['libykcs11.so', 'ykcs11', 'debian'],
      ['opensc-pkcs11.so', 'opensc-pkcs11', 'debian'],
    ]);
    expect(matchToken(0x1050, 0x0030, null)!.modules[0]!.source).toBe('vendor');
  });

  it('knows a YubiKey whose CCID interface is disabled, and says that it has no PKCS#11 module', () => {
    const m = matchToken(0x1050, 0x0402, [0x03])!;
    expect(m.modules).toEqual([]);
    expect(m.note).toMatch(/ykman config usb --enable PIV/);
  });

  it('recognises any CCID reader by its interface class or device class, after the IDs', () => {
    expect(matchToken(0x04e6, 0x5116, [CCID_INTERFACE_CLASS])).toMatchObject({ name: 'CCID smart card reader', kind: 'ccid-reader', matchedBy: 'interface-class' });
    expect(matchToken(0x1234, 0x5678, [], CCID_INTERFACE_CLASS)).toMatchObject({ matchedBy: 'interface-class' });
    // A YubiKey is a CCID reader too; its own entry says more.
    expect(matchToken(0x1050, 0x0407, [0x03, 0x03, CCID_INTERFACE_CLASS])).toMatchObject({ name: 'YubiKey 4/5 (PIV)', matchedBy: 'id' });
  });

  it('knows nothing of a mouse, or of an unreadable device of unknown ID', () => {
    expect(matchToken(0x046d, 0xc077, [0x03])).toBeNull();
    expect(matchToken(0x046d, 0xc077, null)).toBeNull();
  });

  it('writes IDs as lsusb does, and module paths with Debian\'s multiarch directory', () => {
    expect(vidPid(0x1050, 0x30)).toBe('1050:0030');
    expect(vidPid(0x20a0, 0x4230)).toBe('20a0:4230');
    expect(multiarch('x64')).toBe('x86_64-linux-gnu');
    expect(multiarch('arm64')).toBe('aarch64-linux-gnu');
    expect(matchToken(0x20a0, 0x4230, null)!.modules[0]!.path).toBe(`/usr/lib/${multiarch()}/opensc-pkcs11.so`);
  });
});
