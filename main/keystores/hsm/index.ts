// HSM key stores (AWS_CLOUDHSM): keys generated and used on a PKCS#11 token. The KMS domain and the CLI
// use this file: probe a token (`kura hsm add|test`), connect a store, and the store itself.
export { connectHsmKeyStore, probeHsmToken, DEFAULT_SESSIONS, type HsmTokenConfig, type HsmTokenInfo } from './connect.js';
export { HsmConnectionError, type HsmConnectionErrorCode } from './connection-error.js';
export { HsmKeyStore, TOKEN_KEYS_LISTED, type TokenKey } from './hsm-key-store.js';
export { decodeMaterialRef, materialIdOf } from './material-ref.js';
