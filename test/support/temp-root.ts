// vitest's global setup: every temporary file of a test run goes under one directory of its own, which
// the run removes when it ends. Tests make data directories, SoftHSM2 tokens, CLI homes and key files
// with os.tmpdir(), and so do the Kura processes and CLIs they start; left in /tmp, a few hundred
// directories a run (dev root keys among them) piled up run after run. TMPDIR is set before vitest
// starts its workers, which inherit it, as do the processes they spawn. A directory left by a run that
// was killed is swept by the next one, once its process is gone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alive } from './processes.js';

const PREFIX = 'kura-tests-';

export default function setup(): () => void {
  const base = os.tmpdir();
  for (const name of fs.readdirSync(base)) {
    const pid = name.startsWith(PREFIX) ? Number(name.slice(PREFIX.length).split('-')[0]) : NaN;
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) fs.rmSync(path.join(base, name), { recursive: true, force: true });
  }
  const root = fs.mkdtempSync(path.join(base, `${PREFIX}${process.pid}-`));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    fs.rmSync(root, { recursive: true, force: true });
  };
}
