// The PKCS#11 layer: modules (loaded once per process, in it or in a host process of their own; path
// rules, NSS library parameters), tokens by label, sessions and their pool, the table of calls, the CKR_*
// table and the vendor table. Key stores (main/keystores/hsm) and the pkcs11 seal source use it through
// this file.
export { CKR_TABLE, TOKEN_GONE, ckrMeaning, ckrName, ckrOf, callError, meaningOf, Pkcs11CallError, type CkrMeaning } from './errors.js';
export { checkModulePath, ModulePathError, type ModulePathProblem } from './module-path.js';
export { Pkcs11Module, nssParametersForPkcs11js, type ModuleConfig, type ModuleDescription } from './module.js';
export { TOKEN_CALL_DEADLINE_MS } from './module-host.js';
export { PoolClosedError, SessionPool, type SessionSource } from './session-pool.js';
export { BLOB_TOKEN_KEY_USES, CKM_AES_CBC_ENCRYPT_DATA, GCM_IV_BYTES, GCM_TAG_BYTES, madeAsAsked, Pkcs11Session, SEALING_KEY_USES, type SecretKeyAttributes } from './session.js';
export { findRegisteredToken, findToken, Pkcs11Token, type RegisteredToken, type TokenDescription } from './token.js';
export { serialIdentifies } from './token-serial.js';
export { VENDORS, vendorOf, type BlobKeyDerivation, type Vendor } from './vendors.js';
