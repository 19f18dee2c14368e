// The type of ./build.mjs.
export declare const SHIM_TARGET_ENV = 'KURA_SHIM_TARGET';
/** Compiles shim.c (once per process) and returns the absolute path of the shared library. */
export declare function buildPkcs11Shim(): string;
