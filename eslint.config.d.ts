// Types of what eslint.config.js exports for test/lint/layering.test.ts: the layer table and the
// module owners.
import type { Linter } from 'eslint';

export declare const LAYERS: Readonly<Record<string, readonly string[] | '*'>>;
export declare const MODULE_OWNERS: readonly { modules: readonly string[]; owners: readonly string[] }[];
declare const config: Linter.Config[];
export default config;
