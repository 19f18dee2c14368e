// The operator commands of main/console, run: one handler per command, the same whether the command came
// over /admin/v1 (./routes.ts) or the desktop app's IPC (runConsoleCommand). The console's own commands
// (status, keys, the BYOK steps, audit pages) are in ./console-commands.ts. Inputs arrive checked by the contract's
// parseCommandInput; answers are the contract's views (./views.ts).
//
// Who asks (`CommandCaller.actor`) is the admin token's holder, `kura:admin`, or the operator signed in
// to the console. With the admin token a body may name an enrolled operator ("operator") who is then the
// requester; a signed-in operator may name only themselves.
//
// A command of a class the quorum gates (ceremony/quorum.ts names them: HSM and XKS changes are
// `key-store`, API credential changes `credentials`) is not run when its class has a policy: it becomes
// an approval request over its input less its secrets, and answers {applied: false, approvalRequest}.
// Its secrets (a token PIN) are sealed under the root key beside the request, bound to the parameters'
// digest, and opened only when the approved request runs it (runApprovedCommand). What it answers then —
// a new secret access key, say — is sealed under the root key too, bound to the request's ID, until its
// requester takes it once (approvals.result); the request's outcome in the clear says only which IDs it
// made or removed.
import type { AuditLog } from '../../audit/audit-log.js';
import type { RefusalLog } from '../../audit/refusals.js';
import type { CredentialService } from '../../auth/credentials.js';
import { KmsError } from '../../common/errors.js';
import type { ApprovalRequestRecord, ApprovedCall, Quorum } from '../../ceremony/quorum.js';
import { ACTION_CLASSES, ADMIN } from '../../ceremony/quorum.js';
import type { ConsoleSignIn } from '../../ceremony/sign-in.js';
import { parseCommandInput, secretFields, isCommandName, type ChangeView, type CommandInput, type CommandName, type CommandOutput } from '../../console/index.js';
import type { Kms, OperatorCall } from '../../kms/index.js';
import { encodeAad } from '../../seal/at-rest.js';
import type { RootKeyHolder } from '../../seal/root-key.js';
import {
  credentialJson,
  hsmJson,
  iso,
  operatorDetailJson,
  operatorJson,
  policyJson,
  requestSummaryJson,
  requestViewJson,
  tokenJson,
  tokenKeysJson,
  xksCredentialJson,
  xksKeyJson,
  xksStoreJson,
} from './views.js';
import { CONSOLE_HANDLERS } from './console-commands.js';
import { refusedHere } from './refusals.js';

export interface CommandDeps {
  root: RootKeyHolder;
  credentials: CredentialService;
  audit: AuditLog;
  /** Where refusals of callers nobody identified are audited, coalesced (unseal by shares needs no credential). */
  refusals?: RefusalLog;
  applianceId: string;
  version: string;
  /** What the appliance does once unsealed (its custom key stores connect again). */
  onUnsealed?: () => Promise<void>;
  /** Where clients reach the appliance, once it listens. */
  endpoints?: () => { kms: string | null; console: string | null };
  /** The account and Region the console's key commands act in when the input names none (a dev appliance's own). */
  consoleAccount?: { accountId: string; region: string };
  /** The regions SigV4 lets requests be signed for (`kura serve --regions`); unset, every region of Kura's table. */
  allowedRegions?: ReadonlySet<string>;
  /** The KMS façade: HSMs and the XKS proxy's stores. */
  kms?: Kms;
  /** Custodians, quorum policies and approval requests. */
  quorum?: Quorum;
  /** Operators' console sign-in and passphrases. */
  signIn?: ConsoleSignIn;
  /** Plugged USB tokens, as the console shows them (main/devices/usb). */
  listDevices?: () => Promise<unknown>;
}

export interface CommandCaller {
  /** `kura:admin` (the admin token) or the signed-in operator's name. */
  actor: string;
  /** The console session's token, its expiry and how long until its cap ends it, when the caller signed in. */
  session?: { token: string; expiresAt: number; endsInMs: number };
}

export interface Run {
  deps: CommandDeps;
  caller: CommandCaller;
  name: CommandName;
  /** Set when an approved request runs the command: its ID. */
  approvedRequest?: string;
}

const SECRETS_AAD = 'kura/approval/secrets/v1';
const RESULT_AAD = 'kura/approval/result/v1';

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new KmsError('UnknownOperation', `This appliance has no ${what}.`);
  return v;
}

/** The operator call the KMS domain audits: the actor, and the approval request that runs it. */
const operatorCall = (r: Run, operation: string, checkOnly = false): OperatorCall => ({
  operator: r.caller.actor,
  operation,
  ...(r.approvedRequest ? { approvedRequest: r.approvedRequest } : {}),
  ...(checkOnly ? { checkOnly } : {}),
});

/** Who asks: the caller, or (admin token only) the enrolled operator the input names. */
async function actorOf(r: Run, named: string | undefined): Promise<{ operator: string }> {
  if (named === undefined) return { operator: r.caller.actor };
  if (r.caller.actor !== ADMIN && named !== r.caller.actor) throw new KmsError('AccessDenied', `Signed in as ${r.caller.actor}, you cannot ask as ${named}.`);
  return { operator: (await need(r.deps.quorum, 'quorum service').showOperator(named)).name };
}

/**
 * Runs a change of a gated class, or makes it an approval request: see the file header. `input` is the
 * command's whole input; its secret fields are left out of what approvers sign and sealed beside it.
 */
async function gated<T extends object>(r: Run, input: Record<string, unknown>, run: () => Promise<T>, precheck?: () => Promise<unknown>): Promise<ChangeView<T>> {
  const quorum = r.deps.quorum;
  if (quorum) {
    // What the domain would refuse is refused now, not after custodians have signed it (an approved
    // request runs the whole change, checks included, anyway).
    if (precheck && r.approvedRequest === undefined) await precheck();
    const secrets = secretFields(r.name);
    const open = Object.fromEntries(Object.entries(input).filter(([k]) => !secrets.includes(k)));
    const hidden = Object.fromEntries(Object.entries(input).filter(([k]) => secrets.includes(k)));
    const sealSecrets =
      Object.keys(hidden).length > 0
        ? (digest: string) => r.deps.root.materialSealer().sealText(JSON.stringify(hidden), encodeAad(SECRETS_AAD, digest)).toString('base64')
        : undefined;
    const admission = await quorum.admitCommand({ operator: r.caller.actor }, r.name, open, {
      ...(r.approvedRequest !== undefined ? { approvedRequest: r.approvedRequest } : {}),
      ...(sealSecrets ? { sealSecrets } : {}),
    });
    if (!admission.admitted) return { applied: false, approvalRequest: requestViewJson(await quorum.showRequest(admission.request.id)) };
  }
  return { applied: true, ...(await run()) };
}

export type Handlers = { [C in CommandName]: (r: Run, input: CommandInput<C>) => Promise<CommandOutput<C>> };

const HANDLERS: Handlers = {
  ...CONSOLE_HANDLERS,

  'session.login': async (r, i) => {
    const { token, session } = await need(r.deps.signIn, 'console sign-in').signIn(i.operator, i.passphrase);
    return { token, operator: session.operator, expiresAt: iso(session.expiresAt) };
  },
  'session.logout': async (r) => {
    const session = await refusedHere(r, () => {
      if (!r.caller.session) throw new KmsError('Validation', 'Only a console session signs out; the admin token does not expire.');
      return r.caller.session;
    });
    await need(r.deps.signIn, 'console sign-in').signOut(session.token);
    return { signedOut: true };
  },
  'session.show': async (r) => ({
    operator: r.caller.actor,
    expiresAt: r.caller.session ? iso(r.caller.session.expiresAt) : null,
    endsInMs: r.caller.session ? r.caller.session.endsInMs : null,
  }),

  'operators.list': async (r) => ({ operators: (await need(r.deps.quorum, 'quorum service').listOperators()).map(operatorJson) }),
  'operators.show': async (r, i) => operatorDetailJson(await need(r.deps.quorum, 'quorum service').showOperator(i.name)),
  // The quorum audits the operator and policy changes it makes, not those it refuses (a name or key
  // enrolled already, an operator not enrolled, a removal that would break a policy): they are audited here.
  'operators.add': (r, i) =>
    refusedHere(r, async () => {
      const quorum = need(r.deps.quorum, 'quorum service');
      const o = await quorum.addOperator(await actorOf(r, i.operator), i.name, i.publicKey);
      return o.applied ? { applied: true, operator: operatorDetailJson(o.value) } : { applied: false, approvalRequest: requestViewJson(await quorum.showRequest(o.request.id)) };
    }),
  'operators.remove': (r, i) =>
    refusedHere(r, async () => {
      const quorum = need(r.deps.quorum, 'quorum service');
      const o = await quorum.removeOperator(await actorOf(r, i.operator), i.name);
      if (o.applied) r.deps.signIn?.endSessionsOf(i.name);
      return o.applied ? { applied: true, removed: o.value } : { applied: false, approvalRequest: requestViewJson(await quorum.showRequest(o.request.id)) };
    }),
  'operators.passphrase': async (r, i) => {
    await need(r.deps.signIn, 'console sign-in').setPassphrase({ operator: r.caller.actor }, i.name, i.passphrase, i.currentPassphrase, r.caller.session?.token);
    return { name: i.name, hasPassphrase: true };
  },

  'quorum.show': async (r) => ({ policies: (await need(r.deps.quorum, 'quorum service').listPolicies()).map(policyJson), classes: [...ACTION_CLASSES] }),
  'quorum.set': (r, i) =>
    refusedHere(r, async () => {
      const quorum = need(r.deps.quorum, 'quorum service');
      const o = await quorum.setPolicy(await actorOf(r, i.operator), i.actionClass, i.threshold, i.operators, i.expiryMinutes);
      return o.applied ? { applied: true, policy: policyJson(o.value) } : { applied: false, approvalRequest: requestViewJson(await quorum.showRequest(o.request.id)) };
    }),

  'approvals.list': async (r) => ({ approvals: (await need(r.deps.quorum, 'quorum service').listRequestSummaries()).map(requestSummaryJson) }),
  'approvals.show': async (r, i) => requestViewJson(await need(r.deps.quorum, 'quorum service').showRequest(i.id)),
  'approvals.submit': async (r, i) => {
    const quorum = need(r.deps.quorum, 'quorum service');
    // With the admin token the signer, when named, is who submits; a signed-in operator submits as themselves.
    const by = r.caller.actor === ADMIN && i.operator !== undefined ? { operator: i.operator } : { operator: r.caller.actor };
    return requestViewJson(await quorum.submit(by, i.id, Buffer.from(i.signature, 'base64'), i.operator));
  },
  'approvals.cancel': async (r, i) => {
    const quorum = need(r.deps.quorum, 'quorum service');
    // The quorum audits a cancel it refuses once it has found the request; one that names none, here.
    const by = await refusedHere(r, async () => {
      await quorum.showRequest(i.id);
      return actorOf(r, i.operator);
    });
    return requestViewJson(await quorum.cancel(by, i.id));
  },
  'approvals.transcript': async (r, i) => (await need(r.deps.quorum, 'quorum service').transcript(i.id)) as unknown as Record<string, unknown>,
  'approvals.result': async (r, i) => {
    const quorum = need(r.deps.quorum, 'quorum service');
    // The quorum audits what it refuses once it has found the request; a request ID that names none, here.
    await refusedHere(r, () => quorum.showRequest(i.id));
    const { request, sealed } = await quorum.takeResult({ operator: r.caller.actor }, i.id);
    const text = r.deps.root.materialSealer().openText(Buffer.from(sealed, 'base64'), encodeAad(RESULT_AAD, request.id));
    return { id: request.id, action: request.action, result: JSON.parse(text) as unknown };
  },

  'audit.verify': async (r) => r.deps.audit.verify(),
  'audit.verifyTranscript': async (r, i) => need(r.deps.quorum, 'quorum service').verifyTranscript(i.transcript),

  'credentials.list': async (r) => ({ credentials: (await r.deps.credentials.list()).map(credentialJson) }),
  // The credential service audits the credentials it makes and deletes, not those it refuses (an ARN
  // of another account, no such access key): they are audited here.
  'credentials.create': (r, i) => refusedHere(r, () => gated(r, i, async () => credentialJson(await r.deps.credentials.create(i, r.caller.actor, r.approvedRequest)))),
  'credentials.delete': (r, i) =>
    refusedHere(r, () =>
      gated(r, i, async () => {
        await r.deps.credentials.delete(i.accessKeyId, r.caller.actor, r.approvedRequest);
        return { deleted: i.accessKeyId };
      }),
    ),

  'hsms.list': async (r) => ({ hsms: (await need(r.deps.kms, 'KMS').listHsms()).map(hsmJson) }),
  'hsms.add': (r, i) =>
    gated(r, i, async () => {
      const { pin, ...config } = i;
      const { hsm, token } = await need(r.deps.kms, 'KMS').registerHsm(operatorCall(r, 'RegisterHsm'), config, pin);
      return { ...hsmJson(hsm), token: tokenJson(token) };
    }),
  'hsms.test': async (r, i) => ({ hsmId: i.hsmId, token: tokenJson(await need(r.deps.kms, 'KMS').testHsm(i.hsmId)) }),
  'hsms.keys': async (r, i) => tokenKeysJson(await need(r.deps.kms, 'KMS').listHsmTokenKeys(operatorCall(r, 'ListHsmTokenKeys'), i.customKeyStoreId)),
  'hsms.tokenKeys': async (r, i) => tokenKeysJson(await need(r.deps.kms, 'KMS').listHsmTokenKeysOnHsm(operatorCall(r, 'ListHsmTokenKeys'), i.hsmId)),
  'hsms.remove': (r, i) => {
    const remove = (checkOnly: boolean) => need(r.deps.kms, 'KMS').removeHsm(operatorCall(r, 'RemoveHsm', checkOnly), i.hsmId);
    return gated(r, i, async () => {
      await remove(false);
      return { removed: i.hsmId };
    }, () => remove(true));
  },

  'xks.stores.list': async (r) => ({ stores: (await need(r.deps.kms, 'KMS').xks.listStores()).map(xksStoreJson) }),
  'xks.stores.create': (r, i) => {
    const create = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.createStore(operatorCall(r, 'CreateXksStore', checkOnly), i);
    return gated(r, i, () => create(false), () => create(true));
  },
  'xks.stores.update': (r, i) => {
    const update = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.updateStorePin(operatorCall(r, 'UpdateXksStorePin', checkOnly), i.storeId, i.pin);
    return gated(r, i, () => update(false), () => update(true));
  },
  'xks.stores.delete': (r, i) => {
    const remove = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.deleteStore(operatorCall(r, 'DeleteXksStore', checkOnly), i.storeId);
    return gated(r, i, async () => {
      await remove(false);
      return { deleted: i.storeId };
    }, () => remove(true));
  },
  'xks.credentials.list': async (r, i) => ({ credentials: (await need(r.deps.kms, 'KMS').xks.listCredentials(i.storeId)).map(xksCredentialJson) }),
  'xks.credentials.create': (r, i) => {
    const create = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.createCredential(operatorCall(r, 'CreateXksCredential', checkOnly), i.storeId);
    return gated(r, i, () => create(false), () => create(true));
  },
  'xks.credentials.delete': (r, i) => {
    const remove = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.deleteCredential(operatorCall(r, 'DeleteXksCredential', checkOnly), i.storeId, i.accessKeyId);
    return gated(r, i, async () => {
      await remove(false);
      return { deleted: i.accessKeyId };
    }, () => remove(true));
  },
  'xks.keys.list': async (r, i) => ({ keys: (await need(r.deps.kms, 'KMS').xks.listKeys(i.storeId)).map(xksKeyJson) }),
  'xks.keys.create': (r, i) => {
    const create = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.createKey(operatorCall(r, 'CreateXksKey', checkOnly), i.storeId, i.usage ?? ['ENCRYPT', 'DECRYPT']);
    return gated(r, i, () => create(false), () => create(true));
  },
  'xks.keys.enable': (r, i) => {
    const enable = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.setKeyStatus(operatorCall(r, 'EnableXksKey', checkOnly), i.storeId, i.externalKeyId, 'ENABLED');
    return gated(r, i, async () => {
      await enable(false);
      return { storeId: i.storeId, externalKeyId: i.externalKeyId, keyStatus: 'ENABLED' as const };
    }, () => enable(true));
  },
  'xks.keys.disable': (r, i) => {
    const disable = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.setKeyStatus(operatorCall(r, 'DisableXksKey', checkOnly), i.storeId, i.externalKeyId, 'DISABLED');
    return gated(r, i, async () => {
      await disable(false);
      return { storeId: i.storeId, externalKeyId: i.externalKeyId, keyStatus: 'DISABLED' as const };
    }, () => disable(true));
  },
  'xks.keys.delete': (r, i) => {
    const remove = (checkOnly: boolean) => need(r.deps.kms, 'KMS').xks.deleteKey(operatorCall(r, 'DeleteXksKey', checkOnly), i.storeId, i.externalKeyId);
    return gated(r, i, async () => {
      await remove(false);
      return { deleted: i.externalKeyId };
    }, () => remove(true));
  },

  'devices.list': async (r) => need(r.deps.listDevices, 'device discovery')(),
};

/** Runs a command whose input the contract has checked (parseCommandInput). */
export function runCommand<C extends CommandName>(deps: CommandDeps, caller: CommandCaller, name: C, input: CommandInput<C>): Promise<CommandOutput<C>> {
  const handler = HANDLERS[name] as (r: Run, input: CommandInput<C>) => Promise<CommandOutput<C>>;
  return handler({ deps, caller, name }, input);
}

/** IDs an answer names (never a secret), for an executed request's outcome in the clear. */
const OUTCOME_FIELDS = ['hsmId', 'storeId', 'accessKeyId', 'externalKeyId', 'keyStatus', 'removed', 'deleted'];

/**
 * The executor's half for commands (ceremony/quorum.ts's ApprovedCall of kind "command"): runs an
 * approved request's command as its requester asked it, with its secrets opened, and seals its answer.
 */
export async function runApprovedCommand(deps: CommandDeps, r: ApprovalRequestRecord, call: Extract<ApprovedCall, { kind: 'command' }>): Promise<{ summary: string; sealedResult?: string }> {
  if (!isCommandName(call.command)) throw new KmsError('Internal', `Approval request ${r.id} names no command Kura knows (${call.command.slice(0, 64)}).`);
  const name = call.command;
  const sealer = deps.root.materialSealer();
  const secrets = call.sealedSecrets === null ? {} : (JSON.parse(sealer.openText(Buffer.from(call.sealedSecrets, 'base64'), encodeAad(SECRETS_AAD, r.digest))) as Record<string, unknown>);
  const input = parseCommandInput(name, { ...call.input, ...secrets });
  const handler = HANDLERS[name] as (run: Run, input: unknown) => Promise<unknown>;
  const out = (await handler({ deps, caller: { actor: call.operator }, name, approvedRequest: r.id }, input)) as Record<string, unknown>;
  if (out.applied !== true) throw new KmsError('Internal', `Approval request ${r.id} was not admitted when it ran.`);
  const { applied: _applied, ...result } = out;
  const named = Object.fromEntries(OUTCOME_FIELDS.filter((k) => typeof result[k] === 'string').map((k) => [k, result[k]]));
  return {
    summary: `applied ${JSON.stringify(named)}`,
    sealedResult: sealer.sealText(JSON.stringify(result), encodeAad(RESULT_AAD, r.id)).toString('base64'),
  };
}
