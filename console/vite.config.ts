import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// Served by the server under /console/ (src/server/plugins/console.ts). `npm run dev -w
// @seatkeeper/console` proxies the API to a server on the default port.
export default defineConfig({
  base: '/console/',
  plugins: [preact()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
  server: { proxy: { '/v1': 'http://127.0.0.1:7070' } },
});
