// Loaded with `node --import`: records every module specifier the process resolves, one per line,
// in the file named by KURA_RECORD_IMPORTS (used to prove what the headless appliance loads).
import { register } from 'node:module';

register(new URL('./record-imports-hooks.mjs', import.meta.url), { data: { file: process.env.KURA_RECORD_IMPORTS } });
