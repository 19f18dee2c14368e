// `kura audit list|tail|head|verify`: reads the audit log from the data directory's database,
// opened read-only (the appliance may be running: SQLite's WAL lets a reader see every committed
// entry without blocking the writer).
// head prints the chain's end as SEQ:HASH; kept somewhere the appliance cannot reach, it lets
// `verify --expect-head` detect entries deleted from the end, which leave a chain that is otherwise
// intact. `verify --transcript F` checks a ceremony transcript (ceremony/transcript.ts) against the log.
import { setTimeout as sleep } from 'node:timers/promises';
import { formatHead, parseHead, type AuditEntryView, type AuditFilter, type AuditLog } from '../../audit/audit-log.js';
import { verifyTranscript } from '../../ceremony/transcript.js';
import type { Store } from '../../store/index.js';
import { CliError, DATABASE_OPTIONS, intOption, iso, print, printJson, readUserFile, stringOption, UsageError, type CommandSpec, type Invocation, type OptionSpec } from '../command.js';
import { openAuditReadOnly } from '../locate.js';

const UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** --since: an ISO 8601 time, or a duration back from now (90s, 15m, 2h, 7d, 1h30m). */
export function parseSince(text: string, nowMs: number): number | undefined {
  if (/^(\d+[smhdw])+$/.test(text)) {
    let ms = 0;
    for (const [, n, unit] of text.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNITS_MS[unit!]!;
    return nowMs - ms;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

function filterOf(inv: Invocation): AuditFilter {
  const filter: AuditFilter = {};
  const since = stringOption(inv, 'since');
  if (since !== undefined) {
    const ms = parseSince(since, Date.now());
    if (ms === undefined) throw new UsageError(`--since takes an ISO 8601 time (2025-05-01T12:00:00Z) or a duration (90s, 15m, 2h, 7d), not "${since}"`);
    filter.sinceMs = ms;
  }
  const key = stringOption(inv, 'key');
  if (key !== undefined) {
    // The log records key IDs; an ARN names one too. An alias may point elsewhere tomorrow.
    const id = /^arn:aws[\w-]*:kms:[^:]*:\d{12}:key\/(.+)$/.exec(key)?.[1] ?? key;
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
      throw new UsageError(`--key takes a key ID or key ARN, not "${key}"`);
    }
    filter.keyId = id;
  }
  const operation = stringOption(inv, 'operation');
  if (operation !== undefined) filter.operation = operation;
  return filter;
}

/** An entry as JSON: times in ISO 8601. */
const entryJson = (e: AuditEntryView): Record<string, unknown> => ({ ...e, at: iso(e.at) });

function entryLine(e: AuditEntryView): string {
  const outcome = e.outcome === 'ok' ? 'ok' : `error${e.errorCode ? `:${e.errorCode}` : ''}`;
  const parts = [String(e.seq), iso(e.at), e.operation, outcome, e.principal];
  if (e.keyId) parts.push(`key=${e.keyId}`);
  if (e.accessKeyId) parts.push(`akid=${e.accessKeyId}`);
  if (e.requestId) parts.push(`request=${e.requestId}`);
  // Bare when a plain word, else JSON-quoted, so a value cannot break the line apart.
  for (const [k, v] of Object.entries(e.details ?? {})) parts.push(`${k}=${typeof v === 'string' && !/^[\w@:/.,+=-]+$/.test(v) ? JSON.stringify(v) : String(v)}`);
  return parts.join('  ');
}

async function withLog<T>(inv: Invocation, fn: (log: AuditLog, store: Store) => Promise<T>): Promise<T> {
  const { store, log } = await openAuditReadOnly(inv);
  try {
    return await fn(log, store);
  } finally {
    await store.close();
  }
}

async function list(inv: Invocation): Promise<number> {
  const filter = filterOf(inv);
  const limit = intOption(inv, 'limit', 0, 1_000_000_000) ?? 100;
  const entries = await withLog(inv, (log) => log.list({ ...filter, ...(limit ? { limit, newest: true } : {}) }));
  if (inv.json) printJson(entries.map(entryJson));
  else if (entries.length === 0) print('No matching audit entries.');
  else print(entries.map(entryLine).join('\n'));
  return 0;
}

async function tail(inv: Invocation): Promise<number> {
  const filter = filterOf(inv);
  const lines = intOption(inv, 'lines', 0, 1_000_000) ?? 10;
  const follow = inv.values.follow === true;
  const intervalMs = Math.round(Number(stringOption(inv, 'interval') ?? '1') * 1000);
  if (!Number.isFinite(intervalMs) || intervalMs < 50 || intervalMs > 3_600_000) {
    throw new UsageError(`--interval must be a number of seconds from 0.05 to 3600`);
  }
  // JSON Lines, one entry per line, so that a follower can be read as it goes.
  const show = (entries: AuditEntryView[]) => {
    if (entries.length) print(entries.map((e) => (inv.json ? JSON.stringify(entryJson(e)) : entryLine(e))).join('\n'));
  };
  return withLog(inv, async (log) => {
    const last = await log.currentHead();
    show(lines ? await log.list({ ...filter, limit: lines, newest: true }) : []);
    if (!follow) return 0;
    let stop = false;
    const onSignal = () => (stop = true);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Polls the read-only database: new entries are those after the last sequence number seen.
    let after = last.seq;
    while (!stop) {
      await sleep(intervalMs);
      const fresh = await log.list({ ...filter, afterSeq: after });
      show(fresh);
      const head = await log.currentHead();
      after = Math.max(after, head.seq, ...fresh.map((e) => e.seq));
    }
    return 0;
  });
}

async function head(inv: Invocation): Promise<number> {
  const h = await withLog(inv, (log) => log.currentHead());
  if (inv.json) printJson({ seq: h.seq, hash: h.hash, head: formatHead(h), at: h.at === null ? null : iso(h.at) });
  else print(formatHead(h));
  return 0;
}

/** --transcript F: the transcript checked against the log and the request's record (ceremony/transcript.ts). */
async function verifyTranscriptFile(inv: Invocation, file: string): Promise<number> {
  if (stringOption(inv, 'expect-head') !== undefined) throw new UsageError('--transcript and --expect-head check different things; give one');
  let t: unknown;
  try {
    t = JSON.parse(readUserFile(file, 'the transcript').toString('utf8'));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('Transcript', `${file} is not JSON (a transcript is what kura ceremony transcript ID --format json writes).`);
  }
  const r = await withLog(inv, async (log, store) => {
    const applianceId = await store.appliance.applianceId();
    return verifyTranscript(t, log, { findRequest: (id) => store.ceremony.findRequest(id), listApprovals: (id) => store.ceremony.listApprovals(id), ...(applianceId !== undefined ? { applianceId } : {}) });
  });
  const about = t !== null && typeof t === 'object' ? (t as { request?: { id?: unknown }; audit?: { headAfter?: unknown } }) : {};
  const id = typeof about.request?.id === 'string' ? about.request.id : undefined;
  if (inv.json) printJson({ ...r, transcript: file, ...(id !== undefined ? { approvalRequestId: id } : {}) });
  else if (r.ok) print(`Transcript of ${id ?? '?'} verifies against the audit log: every cited entry is there with its hash, up to head ${String(about.audit?.headAfter)}.`);
  else print([`Transcript ${file} does NOT verify:`, ...r.problems.map((p) => `  - ${p}`)].join('\n'));
  return r.ok ? 0 : 1;
}

async function verify(inv: Invocation): Promise<number> {
  const transcriptFile = stringOption(inv, 'transcript');
  if (transcriptFile !== undefined) return verifyTranscriptFile(inv, transcriptFile);
  const expectText = stringOption(inv, 'expect-head');
  const expectHead = expectText === undefined ? undefined : parseHead(expectText);
  if (expectText !== undefined && !expectHead) {
    throw new UsageError(`--expect-head takes SEQ:HASH as \`kura audit head\` prints it, not "${expectText}"`);
  }
  const r = await withLog(inv, (log) => {
    const showProgress = !inv.json && process.stderr.isTTY;
    return log
      .verify(
        (done, total) => {
          if (showProgress) process.stderr.write(`\rverifying ${done}/${total} entries`);
        },
        expectHead ? { expectHead } : {},
      )
      .finally(() => {
        if (showProgress) process.stderr.write('\n');
      });
  });
  if (inv.json) printJson({ ...r, headSeq: r.head !== null ? r.entries : r.ok ? 0 : null, ...(expectHead ? { expectedHead: formatHead(expectHead) } : {}) });
  else if (r.ok) {
    const headText = r.head ? `${r.entries}:${r.head}` : '(empty)';
    print(`Audit log intact: ${r.entries} entries; head ${headText}${expectHead ? `; reaches the expected head ${formatHead(expectHead)}` : ''}.`);
  } else print(`Audit log BROKEN at entry ${r.firstBad!.seq}: ${r.firstBad!.reason}.`);
  return r.ok ? 0 : 1;
}

const FILTER_OPTIONS: readonly OptionSpec[] = [
  { name: 'key', value: 'KEYID', help: 'only entries about this key (key ID or key ARN), whatever the call named it by; ReEncrypt by its source or destination' },
  { name: 'operation', value: 'NAME', help: 'only entries of this operation (Encrypt, CreateKey, Seal, …)' },
];

export const audit: CommandSpec = {
  name: 'audit',
  summary: 'read and check the hash-chained audit log (list|tail|head|verify)',
  description: `Reads the audit log from the data directory's database, opened read-only: the appliance may be
running or stopped. Times are shown in ISO 8601.`,
  options: [{ name: 'help', short: 'h', help: 'show this help and exit' }],
  subcommands: [
    {
      name: 'list',
      summary: 'show audit entries, filtered',
      description: `Shows audit entries in order (sequence number, time, operation, outcome, principal, key), at most
--limit of them: the newest that match.`,
      options: [
        { name: 'since', value: 'WHEN', help: 'only entries from this time on: ISO 8601 (2025-05-01T12:00:00Z) or a duration back from now (90s, 15m, 2h, 7d)' },
        ...FILTER_OPTIONS,
        { name: 'limit', value: 'N', help: 'at most N entries, the newest (default 100; 0 for all)' },
        ...DATABASE_OPTIONS,
      ],
      run: list,
    },
    {
      name: 'tail',
      summary: 'show the newest entries; -f follows new ones',
      description: `Shows the newest entries; with --follow, keeps polling the database and shows entries as they are
written, until Ctrl-C. With --json, one JSON object per line.`,
      options: [
        { name: 'lines', short: 'n', value: 'N', help: 'how many of the newest entries to show first (default 10)' },
        { name: 'follow', short: 'f', help: 'keep showing new entries as they are written' },
        { name: 'interval', value: 'S', help: 'with --follow, seconds between polls (default 1)' },
        ...FILTER_OPTIONS,
        ...DATABASE_OPTIONS,
      ],
      run: tail,
    },
    {
      name: 'head',
      summary: 'print the chain head as SEQ:HASH, to check the log against later',
      description: `Prints the audit chain's head (its last entry's sequence number and hash) as SEQ:HASH. Keep it
somewhere the appliance cannot write (a ticket, another machine): \`kura audit verify --expect-head SEQ:HASH\`
then detects entries deleted from the end of the log, which the chain alone cannot show.`,
      options: DATABASE_OPTIONS,
      run: head,
    },
    {
      name: 'verify',
      summary: 'check the hash chain (and that it still reaches a head, or a ceremony transcript)',
      description: `Checks the audit log's hash chain: a changed, removed or reordered entry is reported with its sequence
number, and the command exits 1. With --expect-head SEQ:HASH (from \`kura audit head\`), the log must
also still reach that head: entry SEQ present with that hash. On a terminal it shows progress.
With --transcript F (from \`kura ceremony transcript ID --out F\`), checks the transcript instead: the
chain up to its head after, both its heads, each audit entry it cites (sequence number, hash and text),
that it leaves none out, and that its request, approvals and outcome are what the log and the appliance
record; exits 1 with each problem listed (--json: {"ok","problems",…}).`,
      options: [
        { name: 'expect-head', value: 'SEQ:HASH', help: 'fail unless the log still contains this head (from `kura audit head`)' },
        { name: 'transcript', value: 'F', help: 'check this ceremony transcript (JSON) against the log', complete: 'file' },
        ...DATABASE_OPTIONS,
      ],
      run: verify,
    },
  ],
};
