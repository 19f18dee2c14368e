// Builds the operator console (renderer/) into dist/renderer — not dist/console, where tsc writes
// main/console's JS — with relative asset URLs (base './'), so one build loads from files in Electron
// and from /console/ over HTTP; no module-preload polyfill, which Vite would otherwise inline as a
// script the CSP refuses. Vue SFCs are compiled here, so the bundle carries Vue's runtime-only build
// and never needs 'unsafe-eval'.
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root,
  base: './',
  plugins: [vue()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    // Nothing inlined as data: URLs beyond what img-src allows; fonts are the system's.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
});
