import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// Output goes to dist/ (git-ignored), served by the service at / (camera_service/server/console.py).
// No inline script anywhere: the service sends a CSP with script-src 'self'.
export default defineConfig({
  plugins: [preact()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 700, // hls.js: loaded only when a tile falls back to HLS
  },
});
