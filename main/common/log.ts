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

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];
