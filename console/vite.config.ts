import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the control plane under /console/ (src/server/routes/console-static.ts): hashed
// file names under assets/ are cached for a year, index.html never.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console/', import.meta.url)),
    emptyOutDir: true,
    // No inline assets: the CSP admits scripts and styles from 'self' only (images may be data: URLs).
    assetsInlineLimit: 0,
    // The module preload polyfill would be one more script; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
