// Generated HTTP/1.1 requests for the listener fuzzer (test/fuzz/http-targets.test.ts, `npm run fuzz`):
// request lines (RFC 9112 §3: method SP request-target SP HTTP-version) with methods, origin-form,
// absolute-form, authority-form and asterisk-form targets built from fragments that URL parsers trip
// on, header sections (Host, X-Amz-Target, framing, Expect, folding, huge and duplicate fields) and
// bodies framed right and wrong (§6: Content-Length, chunked). Bytes are built as latin1 strings, one
// character per byte, so that non-ASCII and control bytes go out exactly as generated.
import type { Rng } from './fuzz-rng.js';

/**
 * The request-targets that made `new URL(req.url, …)` throw outside any handler and stop the process
 * (issue #8, finding 1), verbatim.
 */
export const CRASH_TARGETS: readonly string[] = ['//', '///', '//a:99999', '//?x', '//@', '/\\', '//a%zz', 'http://[/', 'http://a:99999/'];

/** Methods the crash targets are sent with: the issue says "with any method". */
export const CRASH_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];

export interface HttpCase {
  /** Where the case came from, for messages: "crash //a%zz GET", "gen 1234". */
  id: string;
  /** The exact bytes sent. */
  bytes: Buffer;
  method: string;
  target: string;
  /**
   * false: incomplete by construction (a body shorter than declared, a header section without its
   * end), so the client half-closes at once and the server's answer is its 400 for the cut message.
   */
  complete: boolean;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
/** UTF-8 bytes of `s` as a latin1 string (one char per byte). */
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** The request for one crash target: a plain, complete request with the usual headers. */
export function crashCase(target: string, method: string, port: number): HttpCase {
  const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{}' : '';
  const lines = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Content-Type: application/x-amz-json-1.1'];
  if (method === 'POST') lines.push('X-Amz-Target: TrentService.ListKeys');
  if (body !== '') lines.push(`Content-Length: ${body.length}`);
  return { id: `crash ${target} ${method}`, bytes: b(`${lines.join('\r\n')}\r\n\r\n${body}`), method, target, complete: true };
}

const COMMON_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];
const RARE_METHODS = ['TRACE', 'CONNECT', 'PROPFIND', 'MKCOL', 'SEARCH', 'PURGE', 'M-SEARCH', 'QUERY', 'LINK', 'UNLINK', 'SOURCE', 'REPORT', 'LOCK', 'ACL'];
const GARBAGE_METHODS = ['get', 'post', 'Post', 'G\x01T', 'GE\tT', '', 'A'.repeat(300), 'PRI', '\xc3\xa9', 'HTTP/1.1', '/', '*', '[', '123', 'POST\x00', 'P%4fST', '-', 'GETT'];

const FRAGMENTS = [
  '', '/', '//', '///', '\\', '\\\\', '%zz', '%', '%0', '%00', '%2f', '%2F', '%5c', '%ff', '%c3%a9', '%2e%2e', '..%2f', '%%', '%u0041',
  '@', '@@', 'user:pass@', '?', '??', '?x', '?x=1&y', '#', '#frag', '[', ']', '[::1]', '[/', ':', ':99999', ':0', ':-1', ':65536', 'a:99999',
  '..', '.', 'a', 'admin', 'admin/v1', 'admin/v1/', 'v1', 'status', 'init', 'unseal', 'seal', 'credentials', '~', '*', ';', ',', '&', '=', '+',
  '$', '!', "'", '(', ')', '{', '}', '|', '^', '`', '"', '<', '>', 'http:', 'http://', 'https://a', 'file:///etc/passwd', 'javascript:',
  'a@b', utf8('é'), utf8('日本'), utf8('\u{1f511}'), '\xff', '\x80', '\xc0\x80', '\x7f', '\x01', '\x00', '\t', 'x'.repeat(100), '__proto__', 'constructor',
];
const AUTHORITIES = [
  '', 'a', '127.0.0.1', 'localhost', '[', '[/', '[::1]', '[::1', '::1', 'a:99999', 'a:65535', 'a:65536', 'a:0', 'a:-1', 'a:x', 'a:', ':80', '@', 'u@a',
  'u:p@a:1', 'a%zz', '%zz', '\xff', 'xn--', '0x7f.1', '999.999.999.999', '[fe80::1%25eth0]', '[v1.x]', 'a'.repeat(300), '127.0.0.1:99999999999',
];
const SCHEMES = ['http', 'https', 'HTTP', 'ftp', 'ws', 'a', '', 'h+t', '1http', 'javascript', 'file'];
const ROUTES = ['/', '/admin/v1/status', '/admin/v1/', '/admin/v1/init', '/admin/v1/unseal', '/admin/v1/seal', '/admin/v1/credentials', '/admin/v1/../..', '/?Action=ListKeys', '/admin/v1/status?x', '/admin/v1/status#f', '/admin', '/favicon.ico', '/kms/xks/v1/keys/k/encrypt', '/x/kms/xks/v1/health'];
const VERSIONS = ['HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/1.1 ', 'http/1.1', 'HTTP/11', 'HTTP/1.1\x00', 'HTTP/', 'HTTP/1.1x'];
const TARGET_HEADERS = [
  'TrentService.ListKeys', 'TrentService.CreateKey', 'TrentService.Encrypt', 'TrentService.', 'TrentService.Nope', 'trentservice.listkeys', 'TrentService.ListKeys\x00',
  `TrentService.${utf8('Lïst')}`, 'TrentService.__proto__', 'TrentService.constructor', 'TrentService.toString', 'TrentService.hasOwnProperty', 'ListKeys', '',
  'TrentService.CreateGrant', 'TrentService.GetKeyLastUsage',
];

function target(rng: Rng, port: number): string {
  const path = (n: number) => Array.from({ length: n }, () => rng.pick(FRAGMENTS)).join(rng.chance(0.5) ? '/' : '');
  return rng.weighted<() => string>([
    [20, () => `/${path(rng.int(1, 6))}`],
    [10, () => `//${path(rng.int(0, 4))}`],
    [8, () => rng.pick(ROUTES) + (rng.chance(0.5) ? path(rng.int(1, 3)) : '')],
    [12, () => `${rng.pick(SCHEMES)}://${rng.pick(AUTHORITIES)}${rng.chance(0.7) ? `/${path(rng.int(0, 3))}` : path(rng.int(0, 2))}`],
    [3, () => `http://127.0.0.1:${port}${rng.pick(ROUTES)}`],
    [4, () => `${rng.pick(AUTHORITIES)}${rng.chance(0.5) ? `:${rng.pick(['443', '99999', '0', 'x'])}` : ''}`],
    [2, () => '*'],
    [6, () => {
      const base = rng.pick(CRASH_TARGETS);
      return rng.chance(0.5) ? base + path(rng.int(1, 3)) : `/${path(rng.int(0, 2))}${base}`;
    }],
    [4, () => {
      // Long targets: under, at and over Node's 16 KiB header limit.
      const length = rng.pick([1_000, 4_000, 8_000, 15_000, 16_500, 20_000]);
      const unit = rng.pick(['a', '/', '//', '%zz', '%2f', '\\', '@', utf8('é'), '?x=1&']);
      return `/${unit.repeat(Math.ceil(length / unit.length))}`.slice(0, length);
    }],
    [2, () => ''],
    [2, () => `/${rng.bytes(rng.int(1, 40)).toString('latin1').replace(/[ \r\n]/g, '_')}`],
  ])();
}

function method(rng: Rng): string {
  return rng.weighted<() => string>([
    [70, () => rng.pick(COMMON_METHODS)],
    [12, () => rng.pick(RARE_METHODS)],
    [18, () => rng.pick(GARBAGE_METHODS)],
  ])();
}

type Framing = 'none' | 'exact' | 'short' | 'long' | 'bad-length' | 'chunked' | 'bad-chunked' | 'cut-chunked' | 'length-and-chunked' | 'continue' | 'continue-no-body';

function body(rng: Rng): string {
  return rng.weighted<() => string>([
    [4, () => ''],
    [4, () => '{}'],
    [3, () => '{"KeyId":"alias/x","Plaintext":"aGVsbG8="}'],
    [3, () => rng.bytes(rng.int(1, 2_000)).toString('latin1')],
    [1, () => 'A'.repeat(rng.int(1, 64_000))],
  ])();
}

function chunked(rng: Rng, data: string, how: 'ok' | 'bad' | 'cut'): string {
  const parts: string[] = [];
  let rest = data;
  while (rest.length > 0) {
    const n = Math.min(rest.length, rng.int(1, 500));
    parts.push(`${n.toString(16)}${rng.chance(0.1) ? ';ext=1' : ''}\r\n${rest.slice(0, n)}\r\n`);
    rest = rest.slice(n);
  }
  if (how === 'ok') return `${parts.join('')}0\r\n\r\n`;
  if (how === 'cut') return parts.join('') + (rng.chance(0.5) ? '0\r\n' : '');
  const bad = rng.pick(['zz\r\nab\r\n0\r\n\r\n', '-1\r\nab\r\n0\r\n\r\n', '5\r\nab\r\n0\r\n\r\n', 'ffffffffffffffffff\r\nab\r\n', '2\r\nabcdef\r\n0\r\n\r\n', '0x2\r\nab\r\n0\r\n\r\n', ' 2\r\nab\r\n0\r\n\r\n', '2\nab\n0\n\n']);
  return parts.join('') + bad;
}

/** One generated request; `port` goes into the Host header of the usual case. */
export function generateHttpCase(rng: Rng, index: number, port: number): HttpCase {
  const m = method(rng);
  const t = target(rng, port);
  const version = rng.chance(0.85) ? 'HTTP/1.1' : rng.pick(VERSIONS);
  const eol = rng.chance(0.95) ? '\r\n' : '\n';
  const sep = rng.chance(0.97) ? ' ' : rng.pick(['  ', '\t', '']);
  const requestLine = version === 'HTTP/0.9' && rng.chance(0.5) ? `${m}${sep}${t}` : `${m}${sep}${t}${sep}${version}`;

  const headers: [string, string][] = [];
  const host = `127.0.0.1:${port}`;
  rng.weighted<() => void>([
    [80, () => headers.push(['Host', host])],
    [5, () => undefined],
    [4, () => headers.push(['Host', host], ['Host', rng.pick(['a', host, ''])])],
    [3, () => headers.push(['Host', 'h'.repeat(rng.pick([1_000, 10_000, 17_000]))])],
    [8, () => headers.push(['Host', rng.pick(['', 'a:99999', '[', '[::1]', '\xff', 'a b', '//', 'a%zz', '127.0.0.1:0', 'u@a'])])],
  ])();
  if (rng.chance(0.45)) {
    const value = rng.chance(0.06) ? `TrentService.${'A'.repeat(15_000)}` : rng.pick(TARGET_HEADERS);
    headers.push(['X-Amz-Target', value]);
    if (rng.chance(0.05)) headers.push(['X-Amz-Target', rng.pick(TARGET_HEADERS)]);
  }
  if (rng.chance(0.5)) headers.push(['Content-Type', rng.pick(['application/x-amz-json-1.1', 'application/json', 'text/plain', '', 'x'.repeat(500), utf8('ü/ü')])]);
  if (rng.chance(0.2)) {
    headers.push([
      'Authorization',
      rng.pick([
        'AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00',
        'AWS4-HMAC-SHA256 Credential=/, SignedHeaders=, Signature=',
        'AWS4-HMAC-SHA256 ' + ','.repeat(2_000),
        'AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/g/h, SignedHeaders=host;x-amz-date;;;, Signature=zz',
        'Bearer x',
        'Basic Og==',
        '',
        'AWS4-HMAC-SHA256 Credential=' + 'A'.repeat(8_000),
      ]),
    ]);
    if (rng.chance(0.5)) headers.push(['X-Amz-Date', rng.pick(['20260101T000000Z', '', 'x', '99999999T999999Z', '2026-01-01T00:00:00Z'])]);
  }
  if (rng.chance(0.1)) headers.push(['Connection', rng.pick(['keep-alive', 'close', 'Upgrade', 'x', 'keep-alive, Upgrade'])]);
  if (rng.chance(0.04)) headers.push(['Upgrade', rng.pick(['websocket', 'h2c', 'x'])]);
  if (rng.chance(0.04)) headers.push(['Expect', rng.pick(['garbage', '100-CONTINUE', '200-ok'])]);
  if (rng.chance(0.15)) {
    const extra = rng.weighted<() => [string, string][]>([
      [3, () => [[`X-${rng.string('abcdefghij', 5)}`, rng.string('abc \t=;,"', rng.int(0, 50))]]],
      [2, () => [['X-Big', 'v'.repeat(rng.pick([4_000, 8_000, 16_000]))]]],
      [1, () => Array.from({ length: rng.int(100, 600) }, (_, i): [string, string] => [`X-H${i}`, 'v'])],
      [1, () => [['Bad Header', 'x']]],
      [1, () => [['X-Ctl\x01', 'x']]],
      [1, () => [['', 'x']]],
      [1, () => [[':authority', 'a']]],
      [1, () => [['X-Nul', 'a\x00b']]],
      [1, () => [['X-Bytes', '\xff\xfe\x80']]],
      [1, () => [['X-Folded', `a${eol} folded`]]],
    ])();
    headers.push(...extra);
  }

  const data = body(rng);
  const framing = rng.weighted<Framing>([
    [30, 'exact'],
    [20, 'none'],
    [6, 'short'],
    [6, 'long'],
    [6, 'bad-length'],
    [8, 'chunked'],
    [5, 'bad-chunked'],
    [3, 'cut-chunked'],
    [3, 'length-and-chunked'],
    [4, 'continue'],
    [3, 'continue-no-body'],
  ]);
  let payload = '';
  let complete = true;
  switch (framing) {
    case 'none':
      // No framing: the body bytes, if any, are a second (garbage) message after a complete first.
      payload = rng.chance(0.3) ? data : '';
      break;
    case 'exact':
      headers.push(['Content-Length', String(data.length)]);
      payload = data;
      break;
    case 'short':
      headers.push(['Content-Length', String(Math.max(0, data.length - rng.int(1, 10)))]);
      payload = data;
      break;
    case 'long':
      headers.push(['Content-Length', String(data.length + rng.int(1, 100))]);
      payload = data;
      complete = false;
      break;
    case 'bad-length':
      rng.weighted<() => void>([
        [1, () => headers.push(['Content-Length', rng.pick(['abc', '-1', '1e3', '0x10', '+5', '5 5', '', '18446744073709551616', '99999999999999999999999'])])],
        [1, () => headers.push(['Content-Length', String(data.length)], ['Content-Length', String(data.length + 1)])],
        [1, () => headers.push(['Content-Length', `${data.length}, ${data.length}`])],
        [1, () => headers.push(['Content-Length', String(1024 * 1024 + rng.int(1, 1_000_000))])],
      ])();
      payload = data;
      // Whether the server waits for more depends on how it reads the bad value: half-close at once.
      complete = false;
      break;
    case 'chunked':
      headers.push(['Transfer-Encoding', rng.pick(['chunked', 'chunked', 'Chunked', 'identity, chunked'])]);
      payload = chunked(rng, data, 'ok');
      break;
    case 'bad-chunked':
      headers.push(['Transfer-Encoding', rng.pick(['chunked', 'chunked, gzip', 'gzip', 'chunked, chunked'])]);
      payload = chunked(rng, data, 'bad');
      complete = false;
      break;
    case 'cut-chunked':
      headers.push(['Transfer-Encoding', 'chunked']);
      payload = chunked(rng, data, 'cut');
      complete = false;
      break;
    case 'length-and-chunked':
      headers.push(['Content-Length', String(data.length)], ['Transfer-Encoding', 'chunked']);
      payload = chunked(rng, data, 'ok');
      complete = false;
      break;
    case 'continue':
      headers.push(['Expect', '100-continue'], ['Content-Length', String(data.length)]);
      payload = data;
      break;
    case 'continue-no-body':
      headers.push(['Expect', '100-continue'], ['Content-Length', String(Math.max(1, data.length))]);
      complete = false;
      break;
  }
  let head = requestLine + eol + headers.map(([k, v]) => `${k}:${rng.chance(0.97) ? ' ' : ''}${v}`).join(eol);
  if (headers.length > 0) head += eol;
  // A header section that never ends (cut mid-line or before the blank line).
  if (rng.chance(0.03)) {
    complete = false;
    return { id: `gen ${index}`, bytes: b(rng.chance(0.5) ? head : head.slice(0, rng.int(1, head.length))), method: m, target: t, complete };
  }
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') complete = false;
  if (eol !== '\r\n' || sep !== ' ' || headers.some(([k]) => k === 'X-Folded')) complete = false;
  return { id: `gen ${index}`, bytes: b(`${head}${eol}${payload}`), method: m, target: t, complete };
}
