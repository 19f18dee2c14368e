// `kura xks stores|credentials|keys`: the external key stores Kura serves as an XKS proxy, so that AWS KMS
// (or another Kura) keeps keys here (XKS proxy API spec v1.0.3). A store is a URI path prefix
// (`/PREFIX/kms/xks/v1`), the SigV4 credentials AWS KMS signs with (two or more may live at once, for
// rotation without downtime) and its external keys. A secret access key is printed once, when it is made.
// A store on an HSM (--hsm) needs the token's user PIN, read as `kura hsm add` reads it (../pin.ts) and
// sent to the appliance once, which checks it by logging in and keeps it sealed under the root key; a PIN
// changed on the token is given to the store again the same way (`kura xks stores update`).
// Scripts use these commands: the names and the --json fields are kept as issue 12 gives them.
// These commands talk to the running appliance with the admin token (commands xks.* of main/console).
// Every change is a key store change: with a key-store quorum policy it becomes an approval request
// (printed; --json {"applied":false,"approvalRequest":{…}}), and what it makes is shown to its
// requester by `kura approvals result ID`.
import { adminClient } from '../locate.js';
import { gatedChange } from './approvals.js';
import { PIN_OPTIONS, readPin } from '../pin.js';
import { CLIENT_OPTIONS, HELP_OPTION, noArguments, oneArgument, print, printJson, stringOption, UsageError, type CommandSpec, type Invocation, type OptionSpec } from '../command.js';

interface StoreBody { storeId: string; uriPathPrefix: string; uriPath: string; hsmId: string | null; credentials: number; keys: number; createdAt: string }
interface CredentialBody { accessKeyId: string; storeId: string; createdAt: string }
interface KeyBody { externalKeyId: string; storeId: string; keyUsage: ('ENCRYPT' | 'DECRYPT')[]; keyStatus: 'ENABLED' | 'DISABLED'; createdAt: string }
interface Made { storeId: string; accessKeyId: string; secretAccessKey: string }

const STORE_OPTION: OptionSpec = { name: 'store', value: 'ID', help: 'the XKS store (see kura xks stores list), required' };
const seg = (s: string): string => encodeURIComponent(s);

function storeOption(inv: Invocation): string {
  const id = stringOption(inv, 'store');
  if (!id) throw new UsageError('--store is required');
  return id;
}

/** --usage encrypt,decrypt | encrypt | decrypt | none → the API's list. */
export function parseUsage(text: string | undefined): ('ENCRYPT' | 'DECRYPT')[] {
  if (text === undefined) return ['ENCRYPT', 'DECRYPT'];
  if (text === 'none') return [];
  const words = text.split(',');
  if (!words.every((w) => w === 'encrypt' || w === 'decrypt') || new Set(words).size !== words.length) {
    throw new UsageError(`--usage must be encrypt,decrypt, encrypt, decrypt or none, not "${text}"`);
  }
  return (['encrypt', 'decrypt'] as const).filter((u) => words.includes(u)).map((u) => (u === 'encrypt' ? 'ENCRYPT' : 'DECRYPT'));
}

const shownUsage = (u: readonly string[]): string => (u.length ? u.map((x) => x.toLowerCase()).join(',') : 'none');

async function createStore(inv: Invocation): Promise<number> {
  noArguments(inv);
  const uriPathPrefix = stringOption(inv, 'uri-path-prefix');
  if (uriPathPrefix === undefined) throw new UsageError('--uri-path-prefix is required');
  const hsmId = stringOption(inv, 'hsm');
  const pin = await readPin(inv);
  if (hsmId !== undefined && pin === undefined) throw new UsageError("--hsm needs the token's user PIN: --pin-file F or --pin-stdin");
  if (hsmId === undefined && pin !== undefined) throw new UsageError('a PIN is for a store on an HSM only: give --hsm HSM_ID too');
  const client = adminClient(inv);
  const r = await gatedChange<Made & { uriPath: string }>(inv, 'POST', '/xks/stores', { uriPathPrefix, ...(hsmId !== undefined ? { hsmId, pin } : {}) });
  if (!r) return 0;
  if (inv.json) return (printJson({ storeId: r.storeId, uriPath: r.uriPath, accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey }), 0);
  print(
    [
      `Store ID:           ${r.storeId}`,
      `URI path:           ${r.uriPath}   (served at ${client.endpoint}${r.uriPath}/…)`,
      `Access key ID:      ${r.accessKeyId}`,
      `Secret access key:  ${r.secretAccessKey}   (shown once)`,
      '',
      // Kura serves the XKS proxy API over TLS itself; a TLS proxy in front is the other way.
      'AWS KMS reaches the proxy over HTTPS at a public host name (HOST): start kura serve with a certificate',
      'for it (--xks-tls-cert PEM --xks-tls-key PEM: its own TLS listener, port 7443 unless --xks-tls-port;',
      'see kura serve --help), or put a TLS-terminating proxy in front of this appliance. Then (AWS CLI v1:',
      'first `aws configure set cli_follow_urlparam false`, or it fetches https://HOST instead of sending it):',
      '  aws kms create-custom-key-store --custom-key-store-name NAME \\',
      '    --custom-key-store-type EXTERNAL_KEY_STORE --xks-proxy-connectivity PUBLIC_ENDPOINT \\',
      `    --xks-proxy-uri-endpoint https://HOST --xks-proxy-uri-path ${r.uriPath} \\`,
      `    --xks-proxy-authentication-credential AccessKeyId=${r.accessKeyId},RawSecretAccessKey=${r.secretAccessKey}`,
      `Then make keys with \`kura xks keys create --store ${r.storeId}\` and give each ID to create-key as --xks-key-id.`,
    ].join('\n'),
  );
  return 0;
}

async function listStores(inv: Invocation): Promise<number> {
  noArguments(inv);
  const { stores } = await adminClient(inv).call<{ stores: StoreBody[] }>('GET', '/xks/stores', undefined, true);
  if (inv.json) return (printJson(stores), 0);
  if (stores.length === 0) print('No XKS stores (kura xks stores create --uri-path-prefix PREFIX).');
  for (const s of stores) {
    print(`${s.storeId}  ${s.uriPath}  ${s.hsmId ?? 'standard'}  ${s.credentials} credential(s)  ${s.keys} key(s)  ${s.createdAt}`);
  }
  return 0;
}

async function updateStore(inv: Invocation): Promise<number> {
  noArguments(inv);
  const storeId = storeOption(inv);
  const pin = await readPin(inv);
  if (pin === undefined) throw new UsageError("give the token's user PIN: --pin-file F or --pin-stdin");
  const r = await gatedChange<{ storeId: string; hsmId: string }>(inv, 'POST', `/xks/stores/${seg(storeId)}/pin`, { pin });
  if (!r) return 0;
  if (inv.json) return (printJson({ storeId: r.storeId, hsmId: r.hsmId }), 0);
  print(`XKS store ${r.storeId} logs in to HSM ${r.hsmId} with the new PIN from now on.`);
  return 0;
}

async function deleteStore(inv: Invocation): Promise<number> {
  const id = oneArgument(inv, 'XKS store ID');
  if (!(await gatedChange(inv, 'DELETE', `/xks/stores/${seg(id)}`, undefined))) return 0;
  if (inv.json) printJson({ deleted: id });
  else print(`Deleted XKS store ${id}.`);
  return 0;
}

async function createCredential(inv: Invocation): Promise<number> {
  noArguments(inv);
  const storeId = storeOption(inv);
  const r = await gatedChange<Made>(inv, 'POST', `/xks/stores/${seg(storeId)}/credentials`, {});
  if (!r) return 0;
  if (inv.json) return (printJson({ storeId: r.storeId, accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey }), 0);
  print(`Access key ID:      ${r.accessKeyId}`);
  print(`Secret access key:  ${r.secretAccessKey}   (shown once)`);
  print('Rotate: aws kms update-custom-key-store --custom-key-store-id ID \\');
  print(`  --xks-proxy-authentication-credential AccessKeyId=${r.accessKeyId},RawSecretAccessKey=${r.secretAccessKey}`);
  print(`then delete the old one: kura xks credentials delete --store ${r.storeId} OLD_ACCESS_KEY_ID`);
  return 0;
}

async function listCredentials(inv: Invocation): Promise<number> {
  noArguments(inv);
  const storeId = storeOption(inv);
  const { credentials } = await adminClient(inv).call<{ credentials: CredentialBody[] }>('GET', `/xks/stores/${seg(storeId)}/credentials`, undefined, true);
  if (inv.json) return (printJson(credentials), 0);
  for (const c of credentials) print(`${c.accessKeyId}  ${c.createdAt}`);
  return 0;
}

async function deleteCredential(inv: Invocation): Promise<number> {
  const storeId = storeOption(inv);
  const id = oneArgument(inv, 'access key ID');
  if (!(await gatedChange(inv, 'DELETE', `/xks/stores/${seg(storeId)}/credentials/${seg(id)}`, undefined))) return 0;
  if (inv.json) printJson({ deleted: id });
  else print(`Deleted ${id}; calls signed with it are refused from now on.`);
  return 0;
}

async function createKey(inv: Invocation): Promise<number> {
  noArguments(inv);
  const storeId = storeOption(inv);
  const usage = parseUsage(stringOption(inv, 'usage'));
  const r = await gatedChange<{ externalKeyId: string }>(inv, 'POST', `/xks/stores/${seg(storeId)}/keys`, { usage });
  if (!r) return 0;
  if (inv.json) return (printJson({ externalKeyId: r.externalKeyId }), 0);
  print(`External key ID:  ${r.externalKeyId}   (usage ${shownUsage(usage)})`);
  print(`Use it with:      aws kms create-key --origin EXTERNAL_KEY_STORE --custom-key-store-id ID --xks-key-id ${r.externalKeyId}`);
  return 0;
}

async function listKeys(inv: Invocation): Promise<number> {
  noArguments(inv);
  const storeId = storeOption(inv);
  const { keys } = await adminClient(inv).call<{ keys: KeyBody[] }>('GET', `/xks/stores/${seg(storeId)}/keys`, undefined, true);
  if (inv.json) return (printJson(keys), 0);
  if (keys.length === 0) print(`No keys in ${storeId} (kura xks keys create --store ${storeId}).`);
  for (const k of keys) print(`${k.externalKeyId}  ${k.keyStatus}  ${shownUsage(k.keyUsage)}  ${k.createdAt}`);
  return 0;
}

const setStatus = (enable: boolean) =>
  async (inv: Invocation): Promise<number> => {
    const storeId = storeOption(inv);
    const id = oneArgument(inv, 'external key ID');
    const r = await gatedChange<{ externalKeyId: string; keyStatus: string }>(inv, 'POST', `/xks/stores/${seg(storeId)}/keys/${seg(id)}/${enable ? 'enable' : 'disable'}`, {});
    if (!r) return 0;
    if (inv.json) printJson({ externalKeyId: r.externalKeyId, keyStatus: r.keyStatus });
    else print(`${id} is ${r.keyStatus}.`);
    return 0;
  };

async function deleteKey(inv: Invocation): Promise<number> {
  const storeId = storeOption(inv);
  const id = oneArgument(inv, 'external key ID');
  if (!(await gatedChange(inv, 'DELETE', `/xks/stores/${seg(storeId)}/keys/${seg(id)}`, undefined))) return 0;
  if (inv.json) printJson({ deleted: id });
  else print(`Deleted ${id}; AWS KMS keys that use it can no longer encrypt or decrypt.`);
  return 0;
}

const STORE_OPTIONS: readonly OptionSpec[] = [STORE_OPTION, ...CLIENT_OPTIONS];
const GROUP_OPTIONS: readonly OptionSpec[] = [HELP_OPTION];

export const xks: CommandSpec = {
  name: 'xks',
  summary: 'the external key stores Kura serves to AWS KMS as an XKS proxy (stores|credentials|keys)',
  description: `Kura serves the XKS proxy API (v1.0.3) at /PREFIX/kms/xks/v1 on its listener, so AWS KMS keys
of an EXTERNAL_KEY_STORE custom key store can be rooted here. A store is a URI path prefix, the SigV4
credentials AWS KMS signs with, and its external keys. These commands need the admin token from the
data directory (or KURA_ADMIN_TOKEN) and a running, unsealed appliance.`,
  options: GROUP_OPTIONS,
  subcommands: [
    {
      name: 'stores',
      summary: 'the proxy\'s external key stores (create|list|update|delete)',
      description: 'An XKS store is what one AWS KMS external key store connects to: its URI path, credentials and keys.',
      options: GROUP_OPTIONS,
      subcommands: [
        {
          name: 'create',
          summary: 'make a store and its first credential; prints what create-custom-key-store needs',
          description: `Makes a store served at /PREFIX/kms/xks/v1 and its first credential (the secret is shown once),
and prints the aws kms create-custom-key-store call that uses them. With --json:
{"storeId","uriPath","accessKeyId","secretAccessKey"}. With --hsm, its keys are generated and used on that
registered HSM's token (kura hsm list), logged in to with the token's user PIN (--pin-file F, or
--pin-stdin: typed without echo at a terminal), which Kura checks now and keeps sealed; without --hsm,
its keys are in Kura's standard key store.`,
          options: [
            { name: 'uri-path-prefix', value: 'PREFIX', help: 'the path before /kms/xks/v1 (AWS KMS\'s XksProxyUriPath), required' },
            { name: 'hsm', value: 'HSM_ID', help: 'keep the store\'s keys on a registered HSM (cluster-…; see kura hsm list); needs its PIN' },
            ...PIN_OPTIONS,
            ...CLIENT_OPTIONS,
          ],
          run: createStore,
        },
        { name: 'list', summary: 'the XKS stores', description: 'Lists the XKS stores: ID, URI path, HSM, credential and key counts, creation time (ISO 8601).', options: CLIENT_OPTIONS, run: listStores },
        {
          name: 'update',
          summary: "give a store on an HSM its token's user PIN again (changed, or refused)",
          description: `Gives a store on an HSM (--hsm at create) the token's user PIN (--pin-file F, or --pin-stdin: typed
without echo at a terminal), after it was changed on the token (pkcs11-tool --change-pin). Kura logs in
with it first: a PIN the token refuses changes nothing. Kura tries a store's PIN that the token refused
once only, so that the token does not lock it: the store's calls answer DependencyTimeoutException and
its health UNAVAILABLE until this command gives it a PIN that logs in (or Kura is sealed and unsealed,
which allows one more try). With --json: {"storeId","hsmId"}.`,
          options: [STORE_OPTION, ...PIN_OPTIONS, ...CLIENT_OPTIONS],
          run: updateStore,
        },
        {
          name: 'delete',
          summary: 'delete a store that has no keys left',
          args: 'STORE_ID',
          description: 'Deletes a store and its credentials; refused while keys live in it (delete them first).',
          options: CLIENT_OPTIONS,
          run: deleteStore,
        },
      ],
    },
    {
      name: 'credentials',
      summary: 'the SigV4 credentials AWS KMS signs with (create|list|delete)',
      description: 'Credentials in AWS\'s formats. Two or more may live at once, so one can be rotated without downtime.',
      options: GROUP_OPTIONS,
      subcommands: [
        {
          name: 'create',
          summary: 'make another credential for a store; its secret is shown once',
          description: 'Makes a credential for the store; give it to AWS KMS (update-custom-key-store), then delete the old one. With --json: {"storeId","accessKeyId","secretAccessKey"}.',
          options: STORE_OPTIONS,
          run: createCredential,
        },
        { name: 'list', summary: 'a store\'s credentials (never their secrets)', description: 'Lists a store\'s credentials: access key ID and creation time (ISO 8601).', options: STORE_OPTIONS, run: listCredentials },
        {
          name: 'delete',
          summary: 'delete a credential (not a store\'s last one)',
          args: 'ACCESS_KEY_ID',
          description: 'Deletes a credential: calls signed with it fail from then on. A store\'s last credential is not deleted.',
          options: STORE_OPTIONS,
          run: deleteCredential,
        },
      ],
    },
    {
      name: 'keys',
      summary: 'the external keys a store serves (create|list|enable|disable|delete)',
      description: 'External keys (AES-256) that AWS KMS keys of the store use as their XksKeyId.',
      options: GROUP_OPTIONS,
      subcommands: [
        {
          name: 'create',
          summary: 'make an external key; prints its ID',
          description: `Makes an AES-256 key on the store's HSM (or in the standard key store for a store without one).
--usage limits it (the proxy answers InvalidKeyUsageException otherwise). With --json: {"externalKeyId"}.`,
          options: [
            STORE_OPTION,
            { name: 'usage', value: 'USAGE', help: 'encrypt,decrypt (default), encrypt, decrypt or none' },
            ...CLIENT_OPTIONS,
          ],
          run: createKey,
        },
        { name: 'list', summary: 'a store\'s keys', description: 'Lists a store\'s keys: ID, status, usage, creation time (ISO 8601).', options: STORE_OPTIONS, run: listKeys },
        { name: 'enable', summary: 'enable a key', args: 'KEY_ID', description: 'Sets the key ENABLED.', options: STORE_OPTIONS, run: setStatus(true) },
        {
          name: 'disable',
          summary: 'disable a key; the proxy refuses it until enabled',
          args: 'KEY_ID',
          description: 'Sets the key DISABLED: encrypt and decrypt answer InvalidStateException until it is enabled.',
          options: STORE_OPTIONS,
          run: setStatus(false),
        },
        {
          name: 'delete',
          summary: 'delete a key; what it encrypted can no longer be decrypted',
          args: 'KEY_ID',
          description: 'Deletes the key. Ciphertexts made with it, and the AWS KMS keys that use it, become unusable.',
          options: STORE_OPTIONS,
          run: deleteKey,
        },
      ],
    },
  ],
};
