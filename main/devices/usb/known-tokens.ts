// The table of USB tokens Kura recognises, by USB vendor:product ID, with the PKCS#11 module each one
// needs, and the one rule that matches a plugged device against it.
//
// Why a table: most HSMs are not HID devices and say nothing about PKCS#11 on the bus, so the only
// thing discovery can read without opening a device (which needs privileges and may disturb a
// session another process holds) is its IDs and its interface classes. The operator needs to know
// which module file to register (DESIGN.md, "HSM key stores": an HSM is registered by module path
// + token label), and which Debian package (or vendor kit) ships it.
//
// Every ID below was checked against a public source, named beside it; IDs that could not be
// confirmed are left out rather than guessed. Sources:
//   [ccid]   the CCID driver's reader list, LudovicRousseau/CCID readers/supported_readers.txt
//   [yubikit] Yubico's own SDK, yubikit-android UsbPid (YubiKey 4 and 5 share the YK4 PIDs; the PID
//            says which USB interfaces are enabled, and PKCS#11 needs the CCID one)
//   [nk]     Nitrokey's udev rules, Nitrokey/libnitrokey data/README.md (from 41-nitrokey.rules)
//   [yhsm]   Yubico's yubihsm-connector udev rule (ATTRS{idVendor}=="1050", ATTRS{idProduct}=="0030"),
//            as reproduced by YubiHSM 2 setup guides
// Module paths: opensc-pkcs11 0.23 and ykcs11 2.2 file lists on Debian 12 (checked on this machine,
// `dpkg -L` / `dpkg -c`); yubihsm_pkcs11.so in lib/<multiarch>/pkcs11/ as Yubico's SDK .debs install
// it; libeTPkcs11.so in /usr/lib as SafeNet Authentication Client installs it.

/** What a token is, for the console's icons and for the operator's expectations. */
export type TokenKind =
  /** A USB HSM: keys are generated and used inside it (YubiHSM 2). */
  | 'hsm'
  /** A smart-card HSM in a USB stick, reached over CCID + PC/SC (Nitrokey HSM 2, SmartCard-HSM). */
  | 'smartcard-hsm'
  /** A multi-application security key whose PIV/OpenPGP applet is a small key store (YubiKey, Nitrokey Pro/Start). */
  | 'security-key'
  /** A vendor PKI token (SafeNet eToken). */
  | 'pki-token'
  /** Any CCID smart card reader: what it holds depends on the card in it. */
  | 'ccid-reader';

/** A PKCS#11 module that drives a token, and where an operator finds it. */
export interface Pkcs11ModuleHint {
  /** The module's file name, as the operator will look for it. */
  file: string;
  /** Its usual path on Debian (for this machine's architecture). */
  path: string;
  /** The package that ships it. */
  package: string;
  /** `debian`: in Debian's archive (`apt-get install <package>`); `vendor`: from the vendor's own kit. */
  source: 'debian' | 'vendor';
  /** What else it needs (a daemon, a configuration file). */
  needs?: string;
}

export interface KnownToken {
  vendorId: number;
  productIds: readonly number[];
  name: string;
  kind: TokenKind;
  /** Modules that drive it, the preferred one first; empty when it cannot be used over PKCS#11 as plugged. */
  modules: readonly Pkcs11ModuleHint[];
  /** Something the operator must know (a disabled interface, a vendor-only driver). */
  note?: string;
  /** Where the IDs were confirmed (see the header). */
  source: string;
}

/** The USB interface class of a CCID smart card reader (USB-IF class code 0x0B, "Smart Card"). */
export const CCID_INTERFACE_CLASS = 0x0b;

/** Debian's multiarch directory name for this machine (x86_64-linux-gnu on amd64). */
export function multiarch(arch: string = process.arch): string {
  const triplets: Record<string, string> = {
    x64: 'x86_64-linux-gnu',
    arm64: 'aarch64-linux-gnu',
    arm: 'arm-linux-gnueabihf',
    ia32: 'i386-linux-gnu',
    ppc64: 'powerpc64le-linux-gnu',
    s390x: 's390x-linux-gnu',
    riscv64: 'riscv64-linux-gnu',
  };
  return triplets[arch] ?? `${arch}-linux-gnu`;
}

const LIB = `/usr/lib/${multiarch()}`;

const OPENSC: Pkcs11ModuleHint = {
  file: 'opensc-pkcs11.so',
  path: `${LIB}/opensc-pkcs11.so`,
  package: 'opensc-pkcs11',
  source: 'debian',
  needs: 'pcscd and libccid (the CCID driver), running',
};
const YKCS11: Pkcs11ModuleHint = {
  file: 'libykcs11.so',
  path: `${LIB}/libykcs11.so`,
  package: 'ykcs11',
  source: 'debian',
  needs: 'pcscd and libccid, running',
};
const YUBIHSM: Pkcs11ModuleHint = {
  file: 'yubihsm_pkcs11.so',
  path: `${LIB}/pkcs11/yubihsm_pkcs11.so`,
  package: 'yubihsm2-sdk (Yubico)',
  source: 'vendor',
  needs: 'yubihsm_pkcs11.conf naming a connector: yubihsm-connector (http://127.0.0.1:12345) or yhusb:// for direct USB',
};
const SAFENET: Pkcs11ModuleHint = {
  file: 'libeTPkcs11.so',
  path: '/usr/lib/libeTPkcs11.so',
  package: 'SafeNet Authentication Client (Thales)',
  source: 'vendor',
  needs: 'pcscd, running',
};

const YUBICO = 0x1050;
const NITROKEY = 0x20a0;

export const KNOWN_TOKENS: readonly KnownToken[] = [
  { vendorId: YUBICO, productIds: [0x0030], name: 'YubiHSM 2', kind: 'hsm', modules: [YUBIHSM], source: 'yhsm' },
  {
    vendorId: YUBICO,
    // YK4_CCID, YK4_OTP_CCID, YK4_FIDO_CCID, YK4_OTP_FIDO_CCID: the CCID interface is enabled.
    productIds: [0x0404, 0x0405, 0x0406, 0x0407],
    name: 'YubiKey 4/5 (PIV)',
    kind: 'security-key',
    modules: [YKCS11, OPENSC],
    source: 'yubikit, ccid',
  },
  {
    vendorId: YUBICO,
    // NEO_OTP_CCID, NEO_CCID, NEO_FIDO_CCID, NEO_OTP_FIDO_CCID.
    productIds: [0x0111, 0x0112, 0x0115, 0x0116],
    name: 'YubiKey NEO (PIV)',
    kind: 'security-key',
    modules: [YKCS11, OPENSC],
    source: 'yubikit, ccid',
  },
  {
    vendorId: YUBICO,
    // YK4_OTP, YK4_FIDO, YK4_OTP_FIDO: a YubiKey 4/5 with its CCID interface disabled.
    productIds: [0x0401, 0x0402, 0x0403],
    name: 'YubiKey 4/5 (CCID disabled)',
    kind: 'security-key',
    modules: [],
    note: 'its smart card (CCID) interface is disabled, so no PKCS#11 module can reach it: enable it with `ykman config usb --enable PIV`',
    source: 'yubikit',
  },
  { vendorId: NITROKEY, productIds: [0x4230], name: 'Nitrokey HSM 2', kind: 'smartcard-hsm', modules: [OPENSC], source: 'nk, ccid' },
  { vendorId: NITROKEY, productIds: [0x4108], name: 'Nitrokey Pro', kind: 'security-key', modules: [OPENSC], source: 'nk, ccid' },
  { vendorId: NITROKEY, productIds: [0x4211], name: 'Nitrokey Start', kind: 'security-key', modules: [OPENSC], source: 'nk, ccid' },
  {
    vendorId: 0x04e6,
    productIds: [0x5817],
    // The CCID list names the ID "Identive SCT3522CC token": the token that carries the SmartCard-HSM.
    name: 'SmartCard-HSM USB token',
    kind: 'smartcard-hsm',
    modules: [OPENSC],
    source: 'ccid',
  },
  { vendorId: 0x0529, productIds: [0x0620], name: 'SafeNet eToken 5100/5110', kind: 'pki-token', modules: [SAFENET], source: 'ccid' },
  { vendorId: 0x0529, productIds: [0x0602], name: 'SafeNet eToken 7300', kind: 'pki-token', modules: [SAFENET], source: 'ccid' },
];

/** Any CCID reader not in the table: OpenSC drives the cards it supports. */
export const GENERIC_CCID: KnownToken = {
  vendorId: 0,
  productIds: [],
  name: 'CCID smart card reader',
  kind: 'ccid-reader',
  modules: [OPENSC],
  note: 'a generic smart card reader: whether it holds a usable token depends on the card in it (`pkcs11-tool -L` lists it)',
  source: 'USB class 0x0B',
};

/** How a device matched the table. */
export interface TokenMatch {
  name: string;
  kind: TokenKind;
  /** `id`: its vendor:product ID is in the table; `interface-class`: it is a CCID reader by class. */
  matchedBy: 'id' | 'interface-class';
  modules: readonly Pkcs11ModuleHint[];
  note: string | null;
}

const byId = new Map<number, KnownToken>();
for (const t of KNOWN_TOKENS) for (const pid of t.productIds) byId.set(t.vendorId * 0x10000 + pid, t);

/**
 * The table's entry for a device: by exact vendor:product ID first (a YubiKey is also a CCID reader,
 * but its own entry says more), then by a CCID interface (or device) class; null when neither.
 * `interfaceClasses` is null when the configuration descriptor could not be read.
 */
export function matchToken(vendorId: number, productId: number, interfaceClasses: readonly number[] | null, deviceClass = 0): TokenMatch | null {
  const known = byId.get(vendorId * 0x10000 + productId);
  if (known) return { name: known.name, kind: known.kind, matchedBy: 'id', modules: known.modules, note: known.note ?? null };
  if (deviceClass === CCID_INTERFACE_CLASS || (interfaceClasses ?? []).includes(CCID_INTERFACE_CLASS)) {
    return { name: GENERIC_CCID.name, kind: GENERIC_CCID.kind, matchedBy: 'interface-class', modules: GENERIC_CCID.modules, note: GENERIC_CCID.note ?? null };
  }
  return null;
}

/** "1050:0030": how lsusb and udev rules write an ID. */
export const vidPid = (vendorId: number, productId: number): string =>
  `${vendorId.toString(16).padStart(4, '0')}:${productId.toString(16).padStart(4, '0')}`;
