// What any failure shows: a code and a message — the appliance's own for a command that failed, the
// console's for a key file it could not use or an answer it could not read — never a raw JSON body or a
// stack. ErrorNotice renders this.
import { CommandError } from '../client/types.js';
import { KeyFileError } from './key-file.js';

export interface ShownError {
  code: string;
  message: string;
}

export function describeError(e: unknown): ShownError {
  if (e instanceof CommandError || e instanceof KeyFileError) return { code: e.code, message: e.message };
  if (e instanceof Error) {
    // The console's own errors (a ceremony that ended without running) carry a code as well.
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === 'string' && code !== '' ? code : e.name === 'Error' ? 'ConsoleError' : e.name, message: e.message };
  }
  return { code: 'ConsoleError', message: 'Something failed in the console; reload the page and try again.' };
}

/** The error's code, when it is one the appliance or the console named. */
export const codeOf = (e: unknown): string | undefined => (e instanceof CommandError || e instanceof KeyFileError ? e.code : undefined);
