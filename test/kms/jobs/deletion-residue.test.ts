// A key deleted at the end of its waiting period is gone from the database's files, not only from its
// tables (DESIGN.md, "Keys": the key and its material are really deleted when the window ends). SQLite
// leaves a deleted row's bytes in free pages and old WAL frames unless told otherwise; the sealed
// material there would open again under the root key, from any later copy of the files. Real SQLite on
// disk, files read as they are while the appliance runs and after it stops.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DAY_MS } from '../../../main/common/clock.js';
import { openDomain, type Domain } from '../../support/domain.js';
import { sqliteOf } from '../../support/sqlite.js';

let d: Domain | undefined;
afterAll(async () => {
  await d?.close();
});

/** The database's files as a copy taken now would hold them. */
const filesOf = (dir: string) =>
  ['kura.db', 'kura.db-wal'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f)).map((f) => ({ f, bytes: fs.readFileSync(f) }));

it("leaves no byte of a deleted key's sealed material in kura.db or its WAL, running or stopped", async () => {
  d = await openDomain();
  const ctx = (op: string) => d!.ctx(op);
  const k = await d.keys.createKey(ctx('CreateKey'), {});
  const [row] = await sqliteOf(d.store).all<{ material_ref: Buffer }>('SELECT material_ref FROM key_materials WHERE key_id = ?', k.keyId);
  const sealed = Buffer.from(row!.material_ref);
  expect(filesOf(d.dir).some(({ bytes }) => bytes.includes(sealed))).toBe(true);
  for (let i = 0; i < 5; i++) await d.keys.createKey(ctx('CreateKey'), { description: `kept ${i}` });

  await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7);
  d.clock.advance(7 * DAY_MS + 1);
  expect((await d.jobs.runDue()).deleted).toEqual([k.keyId]);
  for (const { f, bytes } of filesOf(d.dir)) expect(bytes.includes(sealed), f).toBe(false);

  const { dir } = d;
  await d.close({ keepFiles: true });
  d = undefined;
  for (const { f, bytes } of filesOf(dir)) expect(bytes.includes(sealed), f).toBe(false);
  fs.rmSync(dir, { recursive: true, force: true });
});
