// The first custodians are enrolled at `kura init` (issue 13): `--operators NAME=PUBLIC_KEY.pem,…
// --quorum M` on a production appliance enrolls them (fingerprints printed) and sets every action class
// to M of them, the operators class last; from then on adding an operator or changing a policy is an
// approval request, not a change. A bad key or name refuses the whole init, which leaves the appliance
// uninitialized (the CLI refuses a bad name itself).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

describe('kura init --operators … --quorum M', () => {
  const home = tempDataDir('kura-init-custodians-');
  const env = isolatedEnv(home);
  let k: KuraProcess;
  const kura = (args: string[]) => runKura([...args, '--data-dir', k.dataDir], { env });
  const key = (name: string, kind: 'ed25519' | 'p256') => {
    const priv = path.join(home, `${name}.key`);
    const pub = path.join(home, `${name}.pub`);
    const gen = kind === 'ed25519' ? ['genpkey', '-algorithm', 'ed25519'] : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    execFileSync('openssl', [...gen, '-out', priv], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', priv, '-pubout', '-out', pub], { stdio: 'ignore' });
    return pub;
  };

  beforeAll(async () => {
    k = await startKura({ dev: false, env });
  }, 60_000);
  afterAll(async () => {
    await k?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('refuses a bad key or a quorum larger than the operators, and stays uninitialized', async () => {
    const alice = key('alice', 'ed25519');
    fs.writeFileSync(path.join(home, 'garbage.pub'), 'not a key\n');
    const bad = await kura(['init', '--shares', '1', '--threshold', '1', '--operators', `alice=${alice},mallory=${path.join(home, 'garbage.pub')}`, '--quorum', '1']);
    expect(bad.code).not.toBe(0);
    expect((await kura(['init', '--shares', '1', '--threshold', '1', '--operators', `alice=${alice}`, '--quorum', '2'])).code).not.toBe(0);
    expect(JSON.parse((await kura(['status', '--json'])).stdout)).toMatchObject({ state: 'uninitialized' });
  });

  it('refuses a name that is no operator name itself, before it asks the appliance', async () => {
    const bad = await kura(['init', '--shares', '1', '--threshold', '1', '--operators', `alice smith=${key('alice', 'ed25519')}`, '--quorum', '1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"alice smith" is not an operator name');
    expect(JSON.parse((await kura(['status', '--json'])).stdout)).toMatchObject({ state: 'uninitialized' });
  });

  it('enrolls them, prints their fingerprints, and every class needs M of them; operator changes become approval requests', async () => {
    const files = { alice: key('alice', 'ed25519'), bob: key('bob', 'p256'), carol: key('carol', 'ed25519') };
    const init = await kura(['init', '--shares', '1', '--threshold', '1', '--operators', Object.entries(files).map(([n, f]) => `${n}=${f}`).join(','), '--quorum', '2', '--json']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const made = JSON.parse(init.stdout) as { custodians: { operators: { name: string; fingerprint: string }[]; threshold: number } };
    expect(made.custodians.threshold).toBe(2);
    expect(made.custodians.operators.map((o) => o.name)).toEqual(['alice', 'bob', 'carol']);
    expect(made.custodians.operators[0]!.fingerprint).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);

    const quorum = JSON.parse((await kura(['quorum', 'show', '--json'])).stdout) as { policies: { actionClass: string; threshold: number; operators: string[] }[] };
    expect(quorum.policies.map((p) => p.actionClass).sort()).toEqual(['backup', 'credentials', 'key-deletion', 'key-import', 'key-store', 'operators', 'rekey']);
    expect(quorum.policies.every((p) => p.threshold === 2 && p.operators.join() === 'alice,bob,carol')).toBe(true);

    const dave = key('dave', 'ed25519');
    const add = await kura(['operators', 'add', 'dave', '--public-key', dave, '--json']);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ applied: false });
    const names = (JSON.parse((await kura(['operators', 'list', '--json'])).stdout) as { name: string }[] | { operators: { name: string }[] });
    const list = Array.isArray(names) ? names : names.operators;
    expect(list.map((o) => o.name)).toEqual(['alice', 'bob', 'carol']);
  });
});

describe('kura init --operators, as text', () => {
  it('prints the fingerprints in one column, to read back to each custodian', async () => {
    const home = tempDataDir('kura-init-custodians-text-');
    const env = isolatedEnv(home);
    const k = await startKura({ dev: false, env });
    try {
      const pubs = ['al', 'bernadette'].map((name) => {
        const priv = path.join(home, `${name}.key`);
        execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', priv], { stdio: 'ignore' });
        execFileSync('openssl', ['pkey', '-in', priv, '-pubout', '-out', `${priv}.pub`], { stdio: 'ignore' });
        return `${name}=${priv}.pub`;
      });
      const init = await runKura(['init', '--shares', '1', '--threshold', '1', '--operators', pubs.join(','), '--quorum', '1', '--data-dir', k.dataDir], { env });
      expect(init.code, init.stderr).toBe(0);
      const columns = init.stdout.split('\n').filter((l) => /^ {2}\S+ +([0-9a-f]{4} ){15}[0-9a-f]{4}$/.test(l)).map((l) => l.search(/([0-9a-f]{4} ){15}[0-9a-f]{4}$/));
      expect(columns).toHaveLength(2);
      expect(columns[0]).toBe(columns[1]);
    } finally {
      await k.stop();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
