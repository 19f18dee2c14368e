// The in-place INI editing behind `kura credentials profile`: Kura's sections change, every other
// line of the user's AWS files stays byte for byte (comments, blank lines, other profiles, keys the
// user added to Kura's own section).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientEnv, editIni, exportLines, iniValue, writeFileAtomic, writeProfile } from '../../main/cli/aws-files.js';

describe('editIni', () => {
  it('appends a missing section after one blank line, to an empty or a non-empty file', () => {
    expect(editIni('', 'kura', { set: [['a', '1']] })).toBe('[kura]\na = 1\n');
    expect(editIni('[other]\nx = 1', 'kura', { set: [['a', '1']] })).toBe('[other]\nx = 1\n\n[kura]\na = 1\n');
    expect(editIni('[other]\nx = 1\n\n\n', 'kura', { set: [['a', '1']] })).toBe('[other]\nx = 1\n\n[kura]\na = 1\n');
  });

  it('replaces keys in place and keeps the rest of the section, its comments and the sections around it', () => {
    const before = '# mine\n[default]\nregion = eu-west-1\n\n[profile kura]\n# note\nregion = eu-west-2\nendpoint_url = http://old\noutput = json\n\n[profile z]\nregion = ap-south-1\n';
    const after = editIni(before, 'profile kura', { set: [['endpoint_url', 'http://new']], setIfAbsent: [['region', 'us-east-1']] });
    expect(after).toBe('# mine\n[default]\nregion = eu-west-1\n\n[profile kura]\n# note\nregion = eu-west-2\nendpoint_url = http://new\noutput = json\n\n[profile z]\nregion = ap-south-1\n');
  });

  it('replaces a key together with its indented sub-lines', () => {
    const before = '[services kura]\nkms =\n  endpoint_url = http://old\n  other = 1\nsts =\n  endpoint_url = http://old\n';
    expect(editIni(before, 'services kura', { set: [['kms', 'x']] })).toBe('[services kura]\nkms = x\nsts =\n  endpoint_url = http://old\n');
    expect(editIni(before, 'services kura', { replaceBody: ['kms =', '  endpoint_url = http://new'] })).toBe('[services kura]\nkms =\n  endpoint_url = http://new\n');
  });

  it('removes keys, matches headers with extra spaces, and reads CRLF files', () => {
    expect(editIni('[kura]\r\naws_session_token = t\r\naws_access_key_id = A\r\n', 'kura', { remove: ['aws_session_token'] })).toBe('[kura]\naws_access_key_id = A\n');
    expect(editIni('[ profile   kura ]\na = 1\n', 'profile kura', { set: [['a', '2']] })).toBe('[ profile   kura ]\na = 2\n');
  });

  it('does not take a key of the same name from another section', () => {
    const before = '[kura]\n\n[other]\naws_access_key_id = OTHER\n';
    expect(editIni(before, 'kura', { set: [['aws_access_key_id', 'MINE']] })).toBe('[kura]\naws_access_key_id = MINE\n\n[other]\naws_access_key_id = OTHER\n');
  });
});

describe('exportLines', () => {
  it('quotes for sh whatever is not a plain word, so eval never expands a value', () => {
    const lines = exportLines({ endpoint: 'http://127.0.0.1:7420', region: 'us-east-1', credential: { accessKeyId: 'AKIA', secretAccessKey: "a'b$c" }, guardCa: '/x y/ca.pem' });
    expect(lines).toContain(`export AWS_SECRET_ACCESS_KEY='a'\\''b$c'`);
    expect(lines).toContain(`export AWS_CA_BUNDLE='/x y/ca.pem'`);
    expect(lines).toContain('export AWS_ENDPOINT_URL_KMS=http://127.0.0.1:7420');
    expect(lines.at(-1)).toBe('unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN');
    expect(lines.slice(0, -1).map((l) => l.split('=')[0]!.replace('export ', ''))).toEqual(Object.keys(clientEnv({ endpoint: '', region: '', credential: { accessKeyId: '', secretAccessKey: '' }, guardCa: '' })));
  });
});

describe('writeProfile', () => {
  const credential = { accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: 'x'.repeat(40) };
  const files = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-aws-files-'));
    return { dir, env: { AWS_CONFIG_FILE: path.join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials') } };
  };

  it('a named region replaces the profile\'s; without one the profile keeps its own; it returns what the file holds', () => {
    const { env } = files();
    fs.writeFileSync(env.AWS_CONFIG_FILE, '[profile kura]\nregion = eu-west-2\noutput = json\n');
    const kept = writeProfile({ name: 'kura', endpoint: 'http://127.0.0.1:7420', defaultRegion: 'us-east-1', credential, env });
    expect(kept.region).toBe('eu-west-2');
    expect(iniValue(fs.readFileSync(env.AWS_CONFIG_FILE, 'utf8'), 'profile kura', 'region')).toBe('eu-west-2');
    const replaced = writeProfile({ name: 'kura', endpoint: 'http://127.0.0.1:7420', region: 'ap-south-1', defaultRegion: 'us-east-1', credential, env });
    expect(replaced.region).toBe('ap-south-1');
    const config = fs.readFileSync(env.AWS_CONFIG_FILE, 'utf8');
    expect(config.match(/^region = .*$/gm)).toEqual(['region = ap-south-1']);
    // In place: the user's line order and other keys stay.
    expect(config.startsWith('[profile kura]\nregion = ap-south-1\noutput = json\n')).toBe(true);
  });

  it('a new profile gets the default region, and tells AWS CLI v1 not to fetch https:// parameters', () => {
    const { env } = files();
    expect(writeProfile({ name: 'kura', endpoint: 'http://127.0.0.1:7420', defaultRegion: 'us-east-1', credential, env }).region).toBe('us-east-1');
    const config = fs.readFileSync(env.AWS_CONFIG_FILE, 'utf8');
    expect(iniValue(config, 'profile kura', 'region')).toBe('us-east-1');
    expect(iniValue(config, 'profile kura', 'cli_follow_urlparam')).toBe('false');
  });
});

describe('writeFileAtomic', () => {
  it('never writes through a file already at its temporary name (a link planted where others can write)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-aws-atomic-'));
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'untouched', { mode: 0o600 });
    const file = path.join(dir, 'credentials');
    // The temporary name is the file's, the process ID and .tmp: someone who can write here can guess it.
    fs.symlinkSync(victim, `${file}.kura-${process.pid}.tmp`);
    expect(() => writeFileAtomic(file, '[kura]\naws_secret_access_key = s\n', 0o600)).toThrow(/is in the way/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched');
    expect(fs.existsSync(file)).toBe(false);
    // Once it is gone, the write goes through, with the mode asked for whatever the umask.
    fs.rmSync(`${file}.kura-${process.pid}.tmp`);
    const umask = process.umask(0);
    try {
      writeFileAtomic(file, 'x\n', 0o600);
    } finally {
      process.umask(umask);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).sort()).toEqual(['credentials', 'victim']);
  });
});
