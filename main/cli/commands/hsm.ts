// `kura hsm add|list|test|remove|keys`: the HSMs the appliance may use for AWS_CLOUDHSM custom key stores.
// An HSM is a PKCS#11 module and a token label (slot IDs change when a token is re-plugged); adding one
// checks that the module loads and the token is there, and prints the ID that CreateCustomKeyStore takes
// as CloudHsmClusterId. The token's PIN is not given here: a custom key store gets it as its
// KeyStorePassword. These commands talk to the running appliance with the admin token. Adding and
// removing are key store changes: with a key-store quorum policy each becomes an approval request.
// `kura hsm keys` lists the secret keys on a connected store's token (never a value) and what uses each,
// so that an operator finds the orphans a killed CreateKey leaves there without reading logs; it
// removes nothing (deleting key material is a ceremony decision, made with the vendor's tool). `--hsm`
// lists an HSM's token through any live login of Kura's on it, for an HSM that backs XKS proxy stores only.
import fs from 'node:fs';
import path from 'node:path';
import type { HsmTokenKeysView, HsmTokenKeyView, HsmTokenView, HsmView } from '../../console/index.js';
import { adminClient } from '../locate.js';
import { gatedChange } from './approvals.js';
import { CLIENT_OPTIONS, noArguments, oneLine, print, printJson, stringOption, UsageError, type CommandSpec, type Invocation } from '../command.js';
import { libraryParameters, NSS_OPTIONS, PIN_OPTIONS, readPin } from '../pin.js';

/** An HSM as the admin API shows it; adding one also answers its token's description. */
type HsmBody = HsmView & { token?: HsmTokenView };

const HSM_ID_RE = /^cluster-[2-7a-zA-Z]{11,16}$/;

function hsmIdArg(inv: Invocation): string {
  const id = inv.positionals[0];
  if (!id || inv.positionals.length > 1) throw new UsageError('name one HSM ID (cluster-…; see kura hsm list)');
  if (!HSM_ID_RE.test(id)) throw new UsageError(`"${id}" is not an HSM ID (cluster- and 11 to 16 letters or digits 2–7)`);
  return id;
}

async function add(inv: Invocation): Promise<number> {
  const modulePath = stringOption(inv, 'module');
  const tokenLabel = stringOption(inv, 'token-label');
  if (!modulePath || !tokenLabel) throw new UsageError('--module and --token-label are required');
  if (inv.positionals.length > 0) throw new UsageError(`unexpected argument "${inv.positionals[0]}"`);
  const absolute = path.resolve(modulePath);
  if (!fs.existsSync(absolute)) throw new UsageError(`no PKCS#11 module at ${absolute}`);
  const params = libraryParameters(inv);
  const pin = await readPin(inv);
  const r = await gatedChange<HsmBody>(inv, 'POST', '/hsms', {
    modulePath: absolute,
    tokenLabel,
    ...(params !== undefined ? { libraryParameters: params } : {}),
    ...(pin !== undefined ? { pin } : {}),
  });
  if (!r) return 0;
  if (inv.json) return (printJson(r), 0);
  print(`HSM ID:        ${r.hsmId}`);
  print(`Token:         ${oneLine(r.tokenLabel)} (${oneLine(`${r.manufacturer} ${r.model}`)}, serial ${oneLine(r.serialNumber)})`);
  print(`Module:        ${r.modulePath}`);
  print(`Use it with:   aws kms create-custom-key-store --custom-key-store-name NAME --cloud-hsm-cluster-id ${r.hsmId} \\`);
  print(`                 --trust-anchor-certificate file://CA.pem --key-store-password PIN`);
  return 0;
}

async function list(inv: Invocation): Promise<number> {
  const { hsms } = await adminClient(inv).call<{ hsms: HsmBody[] }>('GET', '/hsms', undefined, true);
  if (inv.json) return (printJson(hsms), 0);
  if (hsms.length === 0) print('No HSMs registered (kura hsm add --module PATH --token-label LABEL).');
  for (const h of hsms) print(`${h.hsmId}  ${oneLine(h.tokenLabel)}  ${oneLine(`${h.manufacturer} ${h.model} ${h.serialNumber}`)}  ${oneLine(h.modulePath)}  ${h.createdAt}`);
  return 0;
}

async function test(inv: Invocation): Promise<number> {
  const id = hsmIdArg(inv);
  const r = await adminClient(inv).call<{ hsmId: string; token: NonNullable<HsmBody['token']> }>('POST', `/hsms/${id}/test`, {}, true);
  if (inv.json) return (printJson(r), 0);
  print(`${id}: token "${oneLine(r.token.label)}" is present (${oneLine(`${r.token.manufacturerId} ${r.token.model}`)}, serial ${oneLine(r.token.serialNumber)}; ${r.token.aesGcm ? 'AES-GCM' : 'no AES-GCM'})`);
  return 0;
}

async function remove(inv: Invocation): Promise<number> {
  const id = hsmIdArg(inv);
  if (!(await gatedChange(inv, 'DELETE', `/hsms/${id}`, undefined))) return 0;
  if (inv.json) printJson({ removed: id });
  else print(`Removed ${id}.`);
  return 0;
}

const CUSTOM_KEY_STORE_ID_RE = /^cks-[0-9a-f]{17}$/;

/** What uses a token key, in words. */
function usedBy(k: HsmTokenKeyView): string {
  switch (k.use) {
    case 'kms-key':
      return `KMS key ${k.keyId}`;
    case 'xks-key':
      return `XKS key ${k.externalKeyId} (store ${k.xksStoreId})`;
    case 'xks-health-check':
      return `health check of XKS store ${k.xksStoreId}`;
    case 'orphan':
      return 'nothing (orphan)';
    case 'not-kura':
      return "nothing of Kura's (another application's key)";
  }
}

/** The listing's route: by custom key store (--store) or by HSM (--hsm), exactly one. */
function tokenKeysPath(inv: Invocation): string {
  const storeId = stringOption(inv, 'store');
  const hsmId = stringOption(inv, 'hsm');
  if (storeId !== undefined && hsmId !== undefined) throw new UsageError('give --store or --hsm, not both: --store lists through a custom key store, --hsm through any live login on the HSM');
  if (hsmId !== undefined) {
    if (!HSM_ID_RE.test(hsmId)) throw new UsageError(`"${hsmId}" is not an HSM ID (cluster- and 11 to 16 letters or digits 2–7)`);
    return `/hsms/${hsmId}/token-keys`;
  }
  if (!storeId) throw new UsageError('--store or --hsm is required (a custom key store ID: cks-…, or an HSM ID: cluster-…)');
  if (!CUSTOM_KEY_STORE_ID_RE.test(storeId)) throw new UsageError(`"${storeId}" is not a custom key store ID (cks- and 17 hex digits)`);
  return `/custom-key-stores/${storeId}/token-keys`;
}

async function keys(inv: Invocation): Promise<number> {
  noArguments(inv);
  const route = tokenKeysPath(inv);
  const orphansOnly = inv.values.orphans === true;
  const r = await adminClient(inv).call<HsmTokenKeysView>('GET', route, undefined, true);
  const shown = orphansOnly ? r.keys.filter((k) => k.use === 'orphan') : r.keys;
  if (inv.json) return (printJson({ ...r, keys: shown }), 0);
  if (r.customKeyStoreId !== null) print(`Custom key store ${r.customKeyStoreId}: HSM ${r.hsmId}, token "${oneLine(r.tokenLabel)}"`);
  else print(`HSM ${r.hsmId}, token "${oneLine(r.tokenLabel)}": listed through the login of an XKS proxy store on it`);
  if (r.sharedWith.length > 0) print(`The token's login is shared with XKS proxy store(s) ${r.sharedWith.join(', ')}: their keys are listed as theirs, not as orphans.`);
  if (r.truncated) print(`The token holds more keys than one listing reads: these are the first ${r.keys.length}.`);
  if (shown.length === 0) {
    print(orphansOnly ? 'No orphans: every key labelled as Kura labels its keys is used.' : 'No secret keys on the token.');
    return 0;
  }
  const rows = [['LABEL', 'CKA_ID', 'USED BY', 'MATERIAL ID'], ...shown.map((k) => [oneLine(k.label), k.ckaId, usedBy(k), k.materialId])];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const row of rows) print(row.map((cell, c) => (c < widths.length ? cell.padEnd(widths[c]!) : cell)).join('  '));
  const orphans = shown.filter((k) => k.use === 'orphan').length;
  if (orphans > 0) {
    print('');
    print(`${orphans} orphan(s): labelled as Kura labels its keys, used by no key of this appliance. Kura removes nothing.`);
    print('Check each before removing it: an ARN label names the key it was made for (aws kms describe-key --key-id ARN);');
    print('list again, as a key whose CreateKey is under way shows here until it commits; a token another appliance');
    print("shares holds that appliance's keys too. Then remove it with the vendor's tool, e.g.");
    print('  pkcs11-tool --module MODULE --token-label LABEL --login --delete-object --type secrkey --id CKA_ID');
  }
  return 0;
}

export const hsm: CommandSpec = {
  name: 'hsm',
  summary: 'register the HSMs (PKCS#11 tokens) behind custom key stores (add|list|test|remove|keys)',
  description: `An HSM is a PKCS#11 module and a token label. Registered, it has an ID (cluster-…) that
CreateCustomKeyStore takes as CloudHsmClusterId; the store's KeyStorePassword is the token's user PIN.
These commands need the admin token from the data directory (or KURA_ADMIN_TOKEN) and a running appliance.`,
  options: [{ name: 'help', short: 'h', help: 'show this help and exit' }],
  subcommands: [
    {
      name: 'add',
      summary: 'register a module and token; prints the HSM ID',
      description: `Checks that the module loads (a regular file owned by root or you, not in a world-writable
directory) and that a token with the label is present, then registers it. NSS softokn needs its
database directory: --nss-db DIR (or the raw --library-parameters). With --pin-file or --pin-stdin it
also checks that a login works; the PIN is not kept (a custom key store gets it as KeyStorePassword).`,
      options: [
        { name: 'module', value: 'PATH', help: 'the PKCS#11 module (.so), required' },
        { name: 'token-label', value: 'LABEL', help: 'the token label, required' },
        ...NSS_OPTIONS,
        ...PIN_OPTIONS,
        ...CLIENT_OPTIONS,
      ],
      run: add,
    },
    { name: 'list', summary: 'the registered HSMs', description: 'Lists the registered HSMs, oldest first.', options: [...CLIENT_OPTIONS], run: list },
    {
      name: 'test',
      summary: 'check that an HSM\'s token is present now',
      args: 'HSM_ID',
      description: 'Loads the module and looks for the token (no login); exits non-zero if it is not there.',
      options: [...CLIENT_OPTIONS],
      run: test,
    },
    {
      name: 'remove',
      summary: 'unregister an HSM no custom key store uses',
      args: 'HSM_ID',
      description: 'Unregisters an HSM; refused while a custom key store uses it (delete that store first).',
      options: [...CLIENT_OPTIONS],
      run: remove,
    },
    {
      name: 'keys',
      summary: "list the keys on an HSM's token (a custom key store's, or by HSM), and what uses each",
      description: `Lists the secret keys on the token of a connected AWS_CLOUDHSM custom key store (--store), or of an
HSM through whichever login of Kura's on it is live (--hsm: its connected custom key store's, or the one
an XKS proxy store on it keeps once its first call connected it) — label, CKA_ID (hex) and Kura's
material ID, never a value — and which KMS key (key ID) or XKS proxy key (external key ID) uses each. A
key labelled as Kura labels its keys that nothing uses is an orphan (a CreateKey cut off between the
token and the database); a key labelled otherwise is another application's. XKS proxy stores on the
same HSM share the token's login: their keys are named as theirs. Nothing is removed, and listing never
logs in: with no live login, it says what to connect.`,
      options: [
        { name: 'store', value: 'ID', help: 'the custom key store (cks-…); it must be connected' },
        { name: 'hsm', value: 'HSM_ID', help: 'the HSM (cluster-…), instead of --store: for an HSM that backs XKS proxy stores only' },
        { name: 'orphans', help: 'list only the orphans' },
        ...CLIENT_OPTIONS,
      ],
      run: keys,
    },
  ],
};
