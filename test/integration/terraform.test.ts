// Terraform's AWS provider against Kura with only `endpoints { kms, sts }` (the README's provider
// block): it asks STS who it is, then creates a key and an alias, reads them back, and destroys them
// (the key goes to PendingDeletion, as with AWS). Runs where Terraform and the hashicorp/aws provider
// are installed (this machine: /usr/local/bin/terraform and a filesystem mirror in /opt/tf-plugins);
// the provider is never downloaded.
import { DescribeKeyCommand, ListAliasesCommand } from '@aws-sdk/client-kms';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

const TERRAFORM = '/usr/local/bin/terraform';
const MIRROR = '/opt/tf-plugins';
const PROVIDER_DIR = path.join(MIRROR, 'registry.terraform.io', 'hashicorp', 'aws');
const available = fs.existsSync(TERRAFORM) && fs.existsSync(PROVIDER_DIR);
const providerVersion = available ? fs.readdirSync(PROVIDER_DIR).sort().pop() : undefined;

let kura: KuraProcess;
let work: string;

function terraform(args: string[]): Promise<{ code: number; out: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('TF_')));
  return new Promise((resolve) => {
    execFile(
      TERRAFORM,
      [...args, '-no-color', '-input=false'],
      { cwd: work, env: { ...env, TF_CLI_CONFIG_FILE: path.join(work, 'rc.tfrc'), TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' }, timeout: 240_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

describe.runIf(available)(`Terraform's AWS provider ${providerVersion ?? ''}`, () => {
  beforeAll(async () => {
    kura = await startKura();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-terraform-'));
    fs.writeFileSync(
      path.join(work, 'rc.tfrc'),
      `provider_installation {\n  filesystem_mirror {\n    path    = "${MIRROR}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n`,
    );
    fs.writeFileSync(
      path.join(work, 'main.tf'),
      `terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "${providerVersion}" }
  }
}
provider "aws" {
  region                  = "us-east-1"
  access_key              = "${kura.accessKeyId}"
  secret_key              = "${kura.secretAccessKey}"
  skip_metadata_api_check = true
  endpoints {
    kms = "${kura.url}"
    sts = "${kura.url}"
  }
}
resource "aws_kms_key" "app" {
  description             = "made by terraform in Kura"
  deletion_window_in_days = 7
}
resource "aws_kms_alias" "app" {
  name          = "alias/terraform-app"
  target_key_id = aws_kms_key.app.key_id
}
output "key_id" { value = aws_kms_key.app.key_id }
`,
    );
  }, 120_000);
  afterAll(async () => {
    await kura?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('init, apply (a key and an alias), then destroy (the key pending deletion)', async () => {
    const init = await terraform(['init']);
    expect(init.code, init.out).toBe(0);
    const apply = await terraform(['apply', '-auto-approve']);
    expect(apply.code, apply.out).toBe(0);
    const keyId = /key_id = "([0-9a-f-]{36})"/.exec(apply.out)?.[1];
    expect(keyId, apply.out).toBeDefined();

    const kms = kmsClient(kura);
    const described = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/terraform-app' }));
    expect(described.KeyMetadata).toMatchObject({ KeyId: keyId, Description: 'made by terraform in Kura', KeyState: 'Enabled' });

    const destroy = await terraform(['destroy', '-auto-approve']);
    expect(destroy.code, destroy.out).toBe(0);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('PendingDeletion');
    const aliases = await kms.send(new ListAliasesCommand({}));
    expect(aliases.Aliases?.some((a) => a.AliasName === 'alias/terraform-app')).toBe(false);
  }, 300_000);
});
