// `kura keys list|show|create|enable|disable|schedule-deletion|cancel-deletion`: the KMS keys of an
// account, as the operator console shows and changes them. A thin client over the console's key
// commands (POST /admin/v1/commands/keys.*, main/api/admin/console-commands.ts) with the admin token:
// each runs in the appliance as a KMS call of arn:aws:iam::ACCOUNT:user/kura-console/kura-admin, so
// it is authorized, gated and audited as the AWS CLI's call would be. The account is --account, or
// the dev account on a dev appliance (a production appliance has no default: name it). Scheduling a
// key's deletion is a key-deletion change: under that class's quorum policy it becomes an approval
// request (printed; --json {"applied":false,"approvalRequest":{…}}).
import type { KeyDetailView, KeyMetadataView, KeyPageView, KeySummaryView } from '../../console/index.js';
import { adminClient } from '../locate.js';
import { gatedChange } from './approvals.js';
import { CLIENT_OPTIONS, HELP_OPTION, intOption, noArguments, oneArgument, oneLine, print, printJson, stringOption, type CommandSpec, type Invocation, type OptionSpec } from '../command.js';

const SCOPE_OPTIONS: readonly OptionSpec[] = [
  { name: 'account', value: 'ID', help: 'the AWS account the keys are in (12 digits; default: the dev account on a dev appliance)' },
  { name: 'region', value: 'R', help: "the Region (default: the appliance's, else us-east-1)" },
];
const OPTIONS: readonly OptionSpec[] = [...SCOPE_OPTIONS, ...CLIENT_OPTIONS];

/** The largest page keys.list serves. */
const PAGE = 1000;

const command = (name: string): string => `/commands/${name}`;

/** The account and Region the user named, as the commands' input fields. */
function scope(inv: Invocation): { accountId?: string; region?: string } {
  const accountId = stringOption(inv, 'account');
  const region = stringOption(inv, 'region');
  return { ...(accountId !== undefined ? { accountId } : {}), ...(region !== undefined ? { region } : {}) };
}

const keyArgument = (inv: Invocation): string => oneArgument(inv, 'key (key ID, key ARN or alias/NAME)');

const call = <T>(inv: Invocation, name: string, body: Record<string, unknown>): Promise<T> => adminClient(inv).call<T>('POST', command(name), body, true);

/** KMS's dates are epoch seconds; shown in ISO 8601 as every CLI time is. */
const isoSeconds = (s: number | undefined): string => (typeof s === 'number' ? new Date(s * 1000).toISOString() : '-');

async function list(inv: Invocation): Promise<number> {
  noArguments(inv);
  const limit = intOption(inv, 'limit', 1, PAGE);
  const filters: Record<string, unknown> = { ...scope(inv) };
  for (const [option, field] of [['state', 'state'], ['origin', 'origin'], ['search', 'search']] as const) {
    const v = stringOption(inv, option);
    if (v !== undefined) filters[field] = v;
  }
  const client = adminClient(inv);
  const keys: KeySummaryView[] = [];
  let page: KeyPageView;
  let after: string | null = null;
  // Every page, following `next`, unless --limit asks for one page of that many.
  do {
    page = await client.call<KeyPageView>('POST', command('keys.list'), { ...filters, limit: limit ?? PAGE, ...(after !== null ? { after } : {}) }, true);
    keys.push(...page.keys);
    after = page.keys.length > 0 ? page.next : null;
  } while (limit === undefined && after !== null);
  const next = limit === undefined ? null : page.next;
  if (inv.json) return (printJson({ accountId: page.accountId, region: page.region, total: page.total, next, keys }), 0);
  if (keys.length === 0) {
    print(`No keys in account ${page.accountId}, ${page.region}${Object.keys(filters).some((k) => k !== 'accountId' && k !== 'region') ? ' that match' : ''}.`);
    return 0;
  }
  for (const k of keys) print(`${k.keyId}  ${k.state.padEnd(15)}  ${k.origin.padEnd(8)}  ${k.keySpec.padEnd(17)}  ${k.keyUsage.padEnd(15)}  ${k.createdAt}${k.description ? `  ${oneLine(k.description)}` : ''}`);
  if (next !== null) print(`(${keys.length} of ${page.total}; more after ${next})`);
  return 0;
}

function metadataLines(m: KeyMetadataView): string[] {
  return [
    `Key ID:        ${m.KeyId}`,
    `ARN:           ${m.Arn}`,
    `State:         ${m.KeyState}${m.KeyState === 'PendingDeletion' ? ` (deleted at ${isoSeconds(m.DeletionDate)})` : ''}`,
    `Origin:        ${m.Origin}`,
    `Key spec:      ${m.KeySpec}`,
    `Key usage:     ${m.KeyUsage}`,
    `Description:   ${m.Description || '-'}`,
    `Created:       ${isoSeconds(m.CreationDate)}`,
    ...(m.ValidTo !== undefined ? [`Material valid to: ${isoSeconds(m.ValidTo)}`] : []),
    ...(m.CustomKeyStoreId !== undefined ? [`Key store:     ${m.CustomKeyStoreId}`] : []),
  ];
}

async function show(inv: Invocation): Promise<number> {
  const keyId = keyArgument(inv);
  const d = await call<KeyDetailView>(inv, 'keys.show', { keyId, ...scope(inv) });
  if (inv.json) return (printJson(d), 0);
  print(
    [
      ...metadataLines(d.metadata),
      `Aliases:       ${d.aliases.length ? d.aliases.join(', ') : '-'}`,
      `Tags:          ${d.tags.length ? d.tags.map((t) => `${t.TagKey}=${t.TagValue}`).join(', ') : '-'}`,
      `Rotation:      ${d.rotationEnabled ? 'enabled' : 'disabled'}${d.rotations.length ? ` (${d.rotations.length} rotation(s))` : ''}`,
      ...(d.recentAudit.length ? ['', 'Recent audit entries (newest first):', ...d.recentAudit.map((e) => `  ${e.seq}  ${e.time}  ${e.operation}  ${e.outcome}${e.errorCode ? ` (${e.errorCode})` : ''}  ${e.principal}`)] : []),
    ].join('\n'),
  );
  return 0;
}

async function create(inv: Invocation): Promise<number> {
  noArguments(inv);
  const body: Record<string, unknown> = { ...scope(inv) };
  for (const [option, field] of [['description', 'description'], ['key-spec', 'keySpec'], ['key-usage', 'keyUsage'], ['origin', 'origin']] as const) {
    const v = stringOption(inv, option);
    if (v !== undefined) body[field] = v;
  }
  const m = await call<KeyMetadataView>(inv, 'keys.create', body);
  if (inv.json) return (printJson(m), 0);
  print(metadataLines(m).join('\n'));
  if (m.Origin === 'EXTERNAL') print(`It waits for its key material (PendingImport): import it with the console's BYOK ceremony or aws kms import-key-material.`);
  return 0;
}

const setEnabled = (enable: boolean) =>
  async (inv: Invocation): Promise<number> => {
    const keyId = keyArgument(inv);
    const m = await call<KeyMetadataView>(inv, enable ? 'keys.enable' : 'keys.disable', { keyId, ...scope(inv) });
    if (inv.json) printJson(m);
    else print(`${m.KeyId} is ${m.KeyState}.`);
    return 0;
  };

async function scheduleDeletion(inv: Invocation): Promise<number> {
  const keyId = keyArgument(inv);
  const days = intOption(inv, 'days', 7, 30);
  const r = await gatedChange<{ keyId: string; keyState: string; deletionDate: string }>(inv, 'POST', command('keys.scheduleDeletion'), {
    keyId,
    ...(days !== undefined ? { pendingWindowInDays: days } : {}),
    ...scope(inv),
  });
  if (!r) return 0;
  if (inv.json) return (printJson({ applied: true, keyId: r.keyId, keyState: r.keyState, deletionDate: r.deletionDate }), 0);
  // ScheduleKeyDeletion answers the key's ARN; the text names the key by its ID, as the other commands do.
  const id = r.keyId.replace(/^arn:[^:]+:kms:[^:]*:\d*:key\//, '');
  print(`${id} is ${r.keyState}: it will be deleted at ${r.deletionDate} (until then: kura keys cancel-deletion ${id}).`);
  return 0;
}

async function cancelDeletion(inv: Invocation): Promise<number> {
  const keyId = keyArgument(inv);
  const m = await call<KeyMetadataView>(inv, 'keys.cancelDeletion', { keyId, ...scope(inv) });
  if (inv.json) printJson(m);
  else print(`${m.KeyId}'s deletion is cancelled; it is ${m.KeyState}${m.KeyState === 'Disabled' ? ` (kura keys enable ${m.KeyId} to use it again)` : ''}.`);
  return 0;
}

export const keys: CommandSpec = {
  name: 'keys',
  summary: 'the KMS keys of an account (list|show|create|enable|disable|schedule-deletion|cancel-deletion)',
  description: `The KMS keys of an account, as the operator console shows and changes them. Each command is
a KMS call made in the appliance as arn:aws:iam::ACCOUNT:user/kura-console/kura-admin, audited as the
AWS CLI's would be. The account is --account (on a dev appliance, the dev account by default). These
commands need the admin token from the data directory (or KURA_ADMIN_TOKEN) and a running, unsealed
appliance.`,
  options: [HELP_OPTION],
  subcommands: [
    {
      name: 'list',
      summary: 'the keys, every page (or --limit N of them)',
      description: `Lists the keys: ID, state, origin, key spec, usage, creation time (ISO 8601) and description. Every
page is followed unless --limit asks for one page of N. With --json:
{"accountId","region","total","next","keys":[{"keyId","arn","state","origin","keySpec","keyUsage","description","createdAt"}]}
("next" is null unless --limit left keys out).`,
      options: [
        { name: 'state', value: 'S', help: 'only keys in this state (Enabled, Disabled, PendingDeletion, PendingImport, …)' },
        { name: 'origin', value: 'O', help: 'only keys of this origin (AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE)' },
        { name: 'search', value: 'TEXT', help: 'only keys whose ID or description holds TEXT' },
        { name: 'limit', value: 'N', help: `one page of at most N keys (1 to ${PAGE}) instead of all of them` },
        ...OPTIONS,
      ],
      run: list,
    },
    {
      name: 'show',
      summary: "a key's metadata, aliases, tags, rotation and recent audit entries",
      args: 'KEY_ID',
      description: 'Shows a key (its ID, ARN or alias/NAME). With --json: {"metadata","aliases","tags","policy","rotationEnabled","rotations","recentAudit"}.',
      options: OPTIONS,
      run: show,
    },
    {
      name: 'create',
      summary: 'make a key; prints its metadata',
      description: 'Makes a key (by default a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key with AWS_KMS origin). With --json: its KeyMetadata as DescribeKey answers it.',
      options: [
        { name: 'description', value: 'D', help: 'its description' },
        { name: 'key-spec', value: 'S', help: 'SYMMETRIC_DEFAULT (default), RSA_2048, ECC_NIST_P256, HMAC_256, …' },
        { name: 'key-usage', value: 'U', help: 'ENCRYPT_DECRYPT (default), SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT' },
        { name: 'origin', value: 'O', help: 'AWS_KMS (default), or EXTERNAL for key material you import', choices: ['AWS_KMS', 'EXTERNAL'] },
        ...OPTIONS,
      ],
      run: create,
    },
    { name: 'enable', summary: 'enable a key', args: 'KEY_ID', description: 'Enables a key. With --json: its KeyMetadata.', options: OPTIONS, run: setEnabled(true) },
    {
      name: 'disable',
      summary: 'disable a key; KMS calls with it are refused until it is enabled',
      args: 'KEY_ID',
      description: 'Disables a key: cryptographic calls with it answer DisabledException until it is enabled. With --json: its KeyMetadata.',
      options: OPTIONS,
      run: setEnabled(false),
    },
    {
      name: 'schedule-deletion',
      summary: "schedule a key's deletion after 7 to 30 days (a gated action)",
      args: 'KEY_ID',
      description: `Schedules the key's deletion after --days days (30 by default); until then it is PendingDeletion and
unusable, and cancel-deletion takes it back. Under a key-deletion quorum policy this becomes an approval
request, printed (approvers sign it: kura approvals sign ID). With --json: {"applied":true,"keyId",
"keyState","deletionDate"}, or {"applied":false,"approvalRequest":{…}}.`,
      options: [{ name: 'days', value: 'N', help: 'the waiting period in days (7 to 30; default 30)' }, ...OPTIONS],
      run: scheduleDeletion,
    },
    {
      name: 'cancel-deletion',
      summary: "cancel a key's scheduled deletion; it is left disabled",
      args: 'KEY_ID',
      description: 'Cancels a pending deletion. The key is left Disabled, as KMS leaves it: enable it to use it again. With --json: its KeyMetadata.',
      options: OPTIONS,
      run: cancelDeletion,
    },
  ],
};
