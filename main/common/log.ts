// Structured logs on stderr, one line per event, in one of two formats:
// - json: one JSON object per line ({"time","level","msg",...fields}), for supervisors, journald and
//   log shippers;
// - text: `TIME LEVEL msg key=value ...` (logfmt-style), for a person at a terminal.
// `kura serve` picks text when stderr is a terminal and json otherwise, unless told (--log-format,
// KURA_LOG_FORMAT, logFormat in the config file).
// Callers pass named fields, never whole request bodies or objects that could hold key material,
// plaintext or secrets. Both formats escape control characters, so a field cannot forge a log line.
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
  return v !== '' && /^[^\s"=\\\p{Cc}]+$/u.test(v) ? v : JSON.stringify(v);
}

function textLine(time: string, level: LogLevel, msg: string, fields: LogFields | undefined): string {
  const parts = [time, level.toUpperCase().padEnd(5), /\p{Cc}/u.test(msg) ? JSON.stringify(msg) : msg];
  for (const [k, v] of Object.entries(fields ?? {})) {
    if (v !== undefined) parts.push(`${k}=${textValue(v)}`);
  }
  return parts.join(' ');
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l), format: LogFormat = 'json'): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    const time = new Date().toISOString();
    // Logging never fails the caller: a line that cannot be written (a closed pipe, a full disk) is lost,
    // not turned into an error in the middle of a KMS call or a stop.
    try {
      write(`${format === 'text' ? textLine(time, lvl, msg, fields) : JSON.stringify({ time, level: lvl, msg, ...fields })}\n`);
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

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];
