// Structured logs on stderr, one line per event, in one of two formats:
// - json: one JSON object per line ({"time","level","msg",...fields}), for supervisors, journald and
//   log shippers;
// - text: `TIME LEVEL msg key=value ...` (logfmt-style), for a person at a terminal.
// `kura serve` picks text when stderr is a terminal and json otherwise, unless told (--log-format,
// KURA_LOG_FORMAT, logFormat in the config file).
// Callers pass named fields, never whole request bodies or objects that could hold key material,
// plaintext or secrets. Both formats escape control characters, line separators and format characters
// (bidirectional overrides), so a field cannot forge a log line or hide what it says; a string field is
// cut at MAX_FIELD_CHARS; a field cannot take the place of time, level or msg.
import { isKmsError } from './errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** A text-format value: bare when it is a plain word, JSON-quoted (escapes included) otherwise. */
function textValue(v: string | number | boolean | null): string {
  if (typeof v !== 'string') return String(v);
  return v !== '' && /^[^\s"=\\\p{Cc}\p{Cf}]+$/u.test(v) ? v : JSON.stringify(v);
}

/**
 * What JSON.stringify leaves as it is but a reader must not see raw: the line and paragraph separators
 * (U+2028/9, which some viewers break a line at) and format characters (bidirectional overrides such as
 * U+202E, which make a terminal show a value's text in another order than it is, and zero-width ones),
 * written as \u escapes. They appear only inside strings, where the escape means the same in JSON.
 */
function escapeInvisible(line: string): string {
  return line.replace(/[\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => c.split('').map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''));
}

function textLine(time: string, level: LogLevel, msg: string, fields: LogFields | undefined): string {
  const parts = [time, level.toUpperCase().padEnd(5), /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(msg) ? JSON.stringify(msg) : msg];
  for (const [k, v] of Object.entries(fields ?? {})) {
    if (v !== undefined) parts.push(`${k}=${textValue(v)}`);
  }
  return parts.join(' ');
}

/** The most characters of a string field a line holds; the rest is counted (a value a request sent may be long). */
export const MAX_FIELD_CHARS = 4096;

function bounded(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  let out: LogFields | undefined;
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string' && v.length > MAX_FIELD_CHARS) {
      out ??= { ...fields };
      out[k] = `${v.slice(0, MAX_FIELD_CHARS)}…(${v.length - MAX_FIELD_CHARS} more characters)`;
    }
  }
  return out ?? fields;
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l), format: LogFormat = 'json'): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, given?: LogFields) => {
    if (ORDER[lvl] < min) return;
    // A field never takes the place of time, level or msg (Object.assign below puts them back).
    const fields = bounded(given);
    const time = new Date().toISOString();
    // Logging never fails the caller: a line that cannot be written (a closed pipe, a full disk) is lost,
    // not turned into an error in the middle of a KMS call or a stop.
    try {
      write(`${escapeInvisible(format === 'text' ? textLine(time, lvl, msg, fields) : JSON.stringify(Object.assign({ time, level: lvl, msg }, fields, { time, level: lvl, msg })))}\n`);
    } catch {
      // dropped
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/**
 * Log lines that a peer nobody identified can cause at will — one per request refused before it was
 * authenticated (a bad signature, an unknown access key) — coalesced as the audit log's refusals are
 * (main/audit/refusals.ts): per key (what was refused, and why), the first line of a window is written
 * in full, with its request ID; the lines that follow within the window are only counted, and when the
 * window ends one line says how many there were. Without it, a local process sending bad signatures
 * wrote a line each, a few hundred a second, for as long as it cared to: a disk-filling vector.
 * Keys held at once are bounded (MAX_KEYS); past them, lines share one overflow window.
 */
export class CoalescedLines {
  static readonly MAX_KEYS = 64;
  private readonly windows = new Map<string, { summary: LogFields; msg: string; level: 'info' | 'warn'; count: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = 60_000,
  ) {}

  /**
   * Writes `msg` at info, unless a line of this key was written within the window: then only counts it.
   * `key` names what is coalesced (it is the summary line's fields); `fields` are this line's own.
   */
  info(key: LogFields, msg: string, fields: LogFields): void {
    this.line('info', key, msg, fields);
  }

  /** The same at warn (the count at the window's end too). */
  warn(key: LogFields, msg: string, fields: LogFields): void {
    this.line('warn', key, msg, fields);
  }

  private line(level: 'info' | 'warn', key: LogFields, msg: string, fields: LogFields): void {
    let id = JSON.stringify(key);
    if (!this.windows.has(id) && this.windows.size >= CoalescedLines.MAX_KEYS) {
      id = '*';
      key = { coalesced: 'overflow' };
    }
    const open = this.windows.get(id);
    if (open) {
      open.count++;
      return;
    }
    this.log[level](msg, fields);
    const timer = setTimeout(() => this.close(id), this.windowMs);
    timer.unref();
    this.windows.set(id, { summary: key, msg, level, count: 0, timer });
  }

  /** Ends every window now, writing the counts (at a stop: the timers would not outlive the process). */
  flush(): void {
    for (const id of [...this.windows.keys()]) this.close(id);
  }

  private close(id: string): void {
    const w = this.windows.get(id);
    if (!w) return;
    this.windows.delete(id);
    clearTimeout(w.timer);
    if (w.count > 0) {
      this.log[w.level](`${w.msg}: more like it were only counted`, { ...w.summary, notLogged: w.count, windowSeconds: this.windowMs / 1000 });
    }
  }
}

const coalescers = new WeakMap<Logger, CoalescedLines>();

/** The coalesced lines of a logger (one set per logger, so every endpoint writing to it shares its windows). */
export function coalescedLines(log: Logger): CoalescedLines {
  let c = coalescers.get(log);
  if (!c) coalescers.set(log, (c = new CoalescedLines(log)));
  return c;
}

/**
 * An unexpected error as a log line may hold it: its type and the frames it was thrown from, never its
 * message. V8's `stack` starts with `Name: message`, and the message of an error nobody expected may
 * quote what a request sent (a parser's error quotes the bytes it choked on, a key ID, a PIN, a path):
 * logging `stack` logged the message too.
 */
export function errorTrace(e: unknown): string {
  if (!(e instanceof Error)) return typeof e;
  const stack = typeof e.stack === 'string' ? e.stack : '';
  let head = '';
  try {
    head = Error.prototype.toString.call(e);
  } catch {
    // A name or message whose getter throws: the frames are kept by their shape below.
  }
  // What follows the header; when the stack does not start with it (an error that rewrote its stack),
  // only lines shaped as V8's frames, so nothing else a message said survives.
  const rest = head !== '' && stack.startsWith(head) ? stack.slice(head.length) : stack;
  const frames = rest.split('\n').filter((l) => /^ {4}at [^\n]{1,512}$/.test(l));
  return [String(e.name).slice(0, 64), ...frames].join('\n');
}

/**
 * The log fields of an unexpected error: its trace (errorTrace: never its message) and, when it has one,
 * the code a system or library call put on it — an errno name (ENOSPC, EACCES) or SQLite's (SQLITE_BUSY),
 * which says what went wrong without quoting anything, or a KmsError's. A `code` of any other shape is
 * left out: an error's properties may be caller data too.
 */
export function errorFields(e: unknown): { error: string; code?: string } {
  // A KmsError's code is Kura's own vocabulary (KeyUnavailable, Internal …): the kind of failure, where
  // the message (a key's ARN, a token's words) is not logged.
  if (isKmsError(e)) return { error: errorTrace(e), code: e.code };
  const code: unknown = e instanceof Error ? (e as { code?: unknown }).code : undefined;
  return { error: errorTrace(e), ...(typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,39}$/.test(code) ? { code } : {}) };
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];
