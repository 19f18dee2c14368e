// The operator console's Content-Security-Policy, one text for both places that send it: the headless
// appliance's /console/ route (api/console.ts) and the desktop app's window (main/desktop). No inline
// script, no eval, no other origin; the console talks only to its own origin (or over IPC).
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
