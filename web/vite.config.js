// Builds the dashboard into web/dist, which maeuld serves from memory (see web/README.md).
// Hashed names under assets/ (maeuld caches /assets/* as immutable); no inline scripts (CSP).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2020',
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 800,
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev` against a running maeuld: MAEUL_URL=http://127.0.0.1:8080 npm run dev
    proxy: {
      '/api': { target: process.env.MAEUL_URL || 'http://127.0.0.1:8080', ws: true },
      '/public/v1': { target: process.env.MAEUL_URL || 'http://127.0.0.1:8080' },
    },
  },
});
