// The XKS settings of `kura serve`'s configuration (main/cli/config.ts): the per-store rate, the answer
// deadline and the TLS listener, from flags, KURA_* variables or the config file, with clear errors for what cannot work.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../main/cli/command.js';
import { ConfigError, DEFAULT_XKS_ANSWER_DEADLINE_MS, DEFAULT_XKS_REQUESTS_PER_SECOND, DEFAULT_XKS_TLS_PORT, resolveClientConfig, resolveConfig } from '../../main/cli/config.js';

const NO_ENV = {};

describe('XKS configuration', () => {
  it('takes the XKS rate from the flag, the environment or the default', () => {
    expect(resolveConfig({}, NO_ENV).xksRequestsPerSecond).toBe(DEFAULT_XKS_REQUESTS_PER_SECOND);
    expect(resolveConfig({ 'xks-rate': '25' }, NO_ENV).xksRequestsPerSecond).toBe(25);
    expect(resolveConfig({}, { KURA_XKS_RATE: '40' }).xksRequestsPerSecond).toBe(40);
    expect(() => resolveConfig({ 'xks-rate': '0' }, NO_ENV)).toThrow(UsageError);
    expect(() => resolveConfig({}, { KURA_XKS_RATE: '0' })).toThrow(ConfigError);
    expect(() => resolveConfig({ 'xks-rate': '1.5' }, NO_ENV)).toThrow(/--xks-rate/);
  });

  it('takes the XKS answer deadline from the flag, the environment or the default (200 ms)', () => {
    expect(DEFAULT_XKS_ANSWER_DEADLINE_MS).toBe(200);
    expect(resolveConfig({}, NO_ENV).xksAnswerDeadlineMs).toBe(200);
    expect(resolveConfig({ 'xks-answer-deadline': '3000' }, NO_ENV).xksAnswerDeadlineMs).toBe(3000);
    expect(resolveConfig({}, { KURA_XKS_ANSWER_DEADLINE: '150' }).xksAnswerDeadlineMs).toBe(150);
    expect(() => resolveConfig({ 'xks-answer-deadline': '5' }, NO_ENV)).toThrow(/--xks-answer-deadline/);
    expect(() => resolveConfig({}, { KURA_XKS_ANSWER_DEADLINE: 'soon' })).toThrow(/KURA_XKS_ANSWER_DEADLINE/);
  });

  it('takes the subject names of mutual TLS client certificates only with a client CA', () => {
    const tls = { 'xks-tls-cert': '/c.pem', 'xks-tls-key': '/k.pem', 'xks-tls-client-ca': '/ca.pem' };
    expect(resolveConfig({ ...tls, 'xks-tls-client-subject': 'cks.kms.us-east-1.amazonaws.com, cks.kms.eu-west-1.amazonaws.com' }, NO_ENV).xksTls?.clientSubjects).toEqual([
      'cks.kms.us-east-1.amazonaws.com',
      'cks.kms.eu-west-1.amazonaws.com',
    ]);
    expect(resolveConfig(tls, NO_ENV).xksTls?.clientSubjects).toBeUndefined();
    expect(() => resolveConfig({ 'xks-tls-cert': '/c.pem', 'xks-tls-key': '/k.pem', 'xks-tls-client-subject': 'cks.kms.us-east-1.amazonaws.com' }, NO_ENV)).toThrow(/needs a client CA/);
    expect(() => resolveConfig({ ...tls }, { KURA_XKS_TLS_CLIENT_SUBJECT: ' , ' })).toThrow(/KURA_XKS_TLS_CLIENT_SUBJECT/);
  });

  it('has no TLS listener unless a certificate and its key are both given', () => {
    expect(resolveConfig({}, NO_ENV).xksTls).toBeUndefined();
    expect(resolveConfig({ 'xks-tls-cert': '/c.pem', 'xks-tls-key': '/k.pem' }, NO_ENV).xksTls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem', host: '127.0.0.1', port: DEFAULT_XKS_TLS_PORT });
    expect(() => resolveConfig({ 'xks-tls-cert': '/c.pem' }, NO_ENV)).toThrow(/both a certificate/);
    expect(() => resolveConfig({}, { KURA_XKS_TLS_KEY: '/k.pem' })).toThrow(/both a certificate/);
    expect(() => resolveConfig({ 'xks-tls-cert': '/c.pem', 'xks-tls-key': '/k.pem', 'xks-tls-port': '70000' }, NO_ENV)).toThrow(/--xks-tls-port/);
    // The listener's other settings alone are refused, not silently ignored.
    expect(() => resolveConfig({ 'xks-tls-client-ca': '/ca.pem' }, NO_ENV)).toThrow(/--xks-tls-client-ca is a setting of the XKS TLS listener/);
    expect(() => resolveConfig({}, { KURA_XKS_TLS_PORT: '9443' })).toThrow(/KURA_XKS_TLS_PORT is a setting of the XKS TLS listener/);
  });

  it('reads the TLS listener from the environment and the config file, flags first', () => {
    const env = { KURA_XKS_TLS_CERT: '/env.pem', KURA_XKS_TLS_KEY: '/env.key', KURA_XKS_TLS_CLIENT_CA: '/ca.pem', KURA_XKS_TLS_HOST: '0.0.0.0', KURA_XKS_TLS_PORT: '0' };
    expect(resolveConfig({ 'xks-tls-port': '9443' }, env).xksTls).toEqual({ certFile: '/env.pem', keyFile: '/env.key', clientCaFile: '/ca.pem', host: '0.0.0.0', port: 9443 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-config-'));
    try {
      const file = path.join(dir, 'kura.json');
      fs.writeFileSync(file, JSON.stringify({ xksTlsCert: '/f.pem', xksTlsKey: '/f.key', xksTlsPort: 8443, xksRequestsPerSecond: 99 }));
      const cfg = resolveConfig({ config: file }, NO_ENV);
      expect(cfg.xksTls).toEqual({ certFile: '/f.pem', keyFile: '/f.key', host: '127.0.0.1', port: 8443 });
      expect(cfg.xksRequestsPerSecond).toBe(99);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad values', () => {
  it('on the command line are usage errors (exit 2); from KURA_* or the config file, errors (exit 1) that name their source', () => {
    const refusal = (f: () => unknown): Error => {
      try {
        f();
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    };
    for (const port of ['abc', '99999', '-1']) {
      const e = refusal(() => resolveConfig({ port }, NO_ENV));
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).exitCode).toBe(2);
      expect(e.message).toBe(`--port must be a port number from 0 to 65535, not "${port}"`);
    }
    const fromEnv = refusal(() => resolveConfig({}, { KURA_PORT: 'abc' }));
    expect(fromEnv).toBeInstanceOf(ConfigError);
    expect(fromEnv.message).toBe('KURA_PORT must be a port number from 0 to 65535, not "abc".');
    expect(refusal(() => resolveConfig({ host: '0.0.0.0' }, NO_ENV))).toBeInstanceOf(UsageError);
    expect(refusal(() => resolveConfig({ 'idle-timeout': '0' }, NO_ENV))).toBeInstanceOf(UsageError);
    expect(refusal(() => resolveConfig({ 'xks-tls-cert': '/c.pem', 'xks-tls-key': '/k.pem', 'xks-tls-port': 'x' }, NO_ENV))).toBeInstanceOf(UsageError);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-config-'));
    const file = path.join(dir, 'kura.json');
    fs.writeFileSync(file, JSON.stringify({ port: 99999 }));
    const fromFile = refusal(() => resolveConfig({ config: file }, NO_ENV));
    expect(fromFile).toBeInstanceOf(ConfigError);
    expect(fromFile.message).toBe(`"port" in ${file} must be a port number from 0 to 65535, not "99999".`);
  });
});

describe('a config file shared by kura serve and the client commands', () => {
  const shared = (settings: Record<string, unknown>): string => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kura-config-')), 'kura.json');
    fs.writeFileSync(file, JSON.stringify(settings));
    return file;
  };

  it('client commands read where the appliance is, not the settings only kura serve uses', () => {
    const file = shared({ dataDir: '/var/lib/kura', port: 7421, xksTlsCert: '/x', logFormat: 'yaml', xksRequestsPerSecond: 0, regions: 'us-east-1' });
    expect(resolveClientConfig({ config: file }, NO_ENV)).toMatchObject({ dataDir: '/var/lib/kura', dataDirGiven: true, endpoint: 'http://127.0.0.1:7421' });
    // What a client does read is still checked, named by the file.
    expect(() => resolveClientConfig({ config: shared({ port: 'x' }) }, NO_ENV)).toThrow(/^"port" in \S+kura\.json must be a port number/);
    expect(() => resolveClientConfig({ config: shared({ prot: 1 }) }, NO_ENV)).toThrow(/Unknown setting "prot"/);
  });

  it('kura serve names the file when it holds half of the XKS TLS listener', () => {
    const cert = shared({ xksTlsCert: '/x' });
    expect(() => resolveConfig({ config: cert }, NO_ENV)).toThrow(
      new ConfigError(`"xksTlsCert" in ${cert} needs its key (--xks-tls-key, KURA_XKS_TLS_KEY or "xksTlsKey") as well: the XKS TLS listener needs both a certificate and its key.`),
    );
    expect(() => resolveConfig({}, { KURA_XKS_TLS_KEY: '/k.pem' })).toThrow(/^KURA_XKS_TLS_KEY needs a certificate \(--xks-tls-cert/);
    expect(() => resolveConfig({ 'xks-tls-cert': '/c.pem' }, NO_ENV)).toThrow(UsageError);
  });
});
