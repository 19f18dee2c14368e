// What the durable HSM ceilings of bench/ceiling-server.mjs (KMS-shaped, for bench:hsm) and
// bench/xks-ceiling-server.mjs (for bench:xks) add to the bare ones: AES-256-GCM on a PKCS#11 token, and
// one row per call in SQLite that is on the disk before the call is answered. Each is the least such a
// server must do, so that what it reaches on a machine is what any server with those duties reaches there:
//   tokenGcm     — pkcs11js in process, synchronous calls on one session (as Kura calls SoftHSM2), one
//                  non-extractable, sensitive AES-256 key that is a session object, as the blob keys Kura
//                  derives per epoch are (SoftHSM2 2.6 runs C_EncryptInit + C_Encrypt of 32 B in about
//                  14 µs under a session object, 35 µs under a token object); no per-call key lookup or
//                  state check;
//   durableRows  — SQLite in WAL mode with synchronous=FULL (durable at COMMIT, as Kura's audit log), the
//                  rows that arrive while a commit is under way written together in the next one (one
//                  INSERT, one fsync); no hash chain, no canonical form, no prepared-statement cache.
// Both servers take them from the environment: CEILING_HSM ({"module","label","pin"}) and CEILING_DB (a
// file path), each optional; ceilingDuties() reads them.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** AES-256-GCM: `seal` gives ciphertext and tag, `open` the plaintext (throws when the tag fails). */
function softwareGcm() {
  const key = randomBytes(32);
  return {
    seal(iv, aad, plaintext) {
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad);
      return { ciphertext: Buffer.concat([cipher.update(plaintext), cipher.final()]), tag: cipher.getAuthTag() };
    },
    open(iv, aad, ciphertext, tag) {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    },
  };
}

/**
 * The template of a non-extractable, sensitive, private AES-256 key on a token, for encryption and
 * decryption or (`usage` 'derive') for derivation only; a token object, or with `token` false a
 * session object.
 */
export function aesTokenKeyTemplate(pkcs11js, label, usage = 'encrypt', token = true) {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_TOKEN, value: token },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: usage === 'encrypt' },
    { type: pkcs11js.CKA_DECRYPT, value: usage === 'encrypt' },
    { type: pkcs11js.CKA_DERIVE, value: usage === 'derive' },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: randomBytes(16) },
  ];
}

/** The same on the token of `label` in PKCS#11 module `module`, logged in with `pin`. */
async function tokenGcm({ module, label, pin }) {
  const { default: pkcs11js } = await import('pkcs11js');
  const mod = new pkcs11js.PKCS11();
  mod.load(module);
  mod.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  const slot = mod.C_GetSlotList(true).find((s) => mod.C_GetTokenInfo(s).label.trim() === label);
  if (!slot) throw new Error(`no token labelled ${label}`);
  const session = mod.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  mod.C_Login(session, pkcs11js.CKU_USER, pin);
  const key = mod.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, aesTokenKeyTemplate(pkcs11js, 'bench-ceiling', 'encrypt', false));
  const gcm = (iv, aad) => ({ mechanism: pkcs11js.CKM_AES_GCM, parameter: { type: pkcs11js.CK_PARAMS_GCM, iv, ivBits: 96, tagBits: 128, aad } });
  return {
    seal(iv, aad, plaintext) {
      mod.C_EncryptInit(session, gcm(iv, aad), key);
      const out = Buffer.from(mod.C_Encrypt(session, plaintext, Buffer.alloc(plaintext.length + 16)));
      return { ciphertext: out.subarray(0, out.length - 16), tag: out.subarray(out.length - 16) };
    },
    open(iv, aad, ciphertext, tag) {
      mod.C_DecryptInit(session, gcm(iv, aad), key);
      return Buffer.from(mod.C_Decrypt(session, Buffer.concat([ciphertext, tag]), Buffer.alloc(ciphertext.length + 16)));
    },
  };
}

/** Rows in a new SQLite database at `file`; `append(entry)` resolves once its row is durable. */
async function durableRows(file) {
  const { default: sqlite3 } = await import('sqlite3');
  const db = await new Promise((resolve, reject) => {
    const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
  });
  await new Promise((resolve, reject) =>
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE calls (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, entry TEXT NOT NULL);', (err) => (err ? reject(err) : resolve())),
  );
  let waiting = [];
  let committing = false;
  const commit = () => {
    const rows = waiting;
    waiting = [];
    committing = true;
    db.run(`INSERT INTO calls (at, entry) VALUES ${rows.map(() => '(?, ?)').join(', ')}`, rows.flatMap((r) => [r.at, r.entry]), (err) => {
      committing = false;
      for (const r of rows) {
        if (err) r.reject(err);
        else r.resolve();
      }
      if (waiting.length > 0) commit();
    });
  };
  return {
    append: (entry) =>
      new Promise((resolve, reject) => {
        waiting.push({ at: Date.now(), entry, resolve, reject });
        if (!committing) commit();
      }),
  };
}

/**
 * The ceiling's AES-256-GCM (on the token of CEILING_HSM, else node:crypto under a random key) and its
 * durable rows (in CEILING_DB; undefined without it: nothing is written).
 */
export async function ceilingDuties(env = process.env) {
  return {
    gcm: env.CEILING_HSM ? await tokenGcm(JSON.parse(env.CEILING_HSM)) : softwareGcm(),
    rows: env.CEILING_DB ? await durableRows(env.CEILING_DB) : undefined,
  };
}
