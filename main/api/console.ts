// GET /console/…: the operator console's built files (dist/renderer), for a browser against a headless
// appliance. The desktop app serves the same files on its own kura:// scheme; both go through one lookup
// (main/console/files.ts), which says what may be named and which headers every answer carries.
import { consoleFiles, consoleText } from '../console/files.js';
import { CONSOLE_CSP } from '../console/index.js';
import type { RawRequest, RawResponse } from './http.js';

export { CONSOLE_CSP };

/** The console's route over the files in `dir` (dist/renderer). */
export function consoleRoute(dir: string): (req: RawRequest) => Promise<RawResponse> {
  const answer = consoleFiles(dir);
  return async (req) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && req.path === '/console') {
      return consoleText(301, 'The console is at /console/.', { location: '/console/' });
    }
    return answer(req.method, req.path.slice('/console/'.length));
  };
}
