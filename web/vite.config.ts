// Vite's configuration for the console. `npm run build` (scripts/build.mjs) writes dist/; the CMake
// build (web/CMakeLists.txt) writes <build>/console. `npm run dev` serves the app with hot reload
// and proxies /api to a running qunzhu (QZ_API, default http://127.0.0.1:8080).
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';

export default defineConfig({
  plugins: [vue()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  // The binary serves the app at / and its assets at /assets/{file} (one level: no sub-folders).
  base: '/',
  define: {
    // Vue and vue-i18n feature flags: no Options API, no devtools, no legacy i18n API.
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_JIT_COMPILATION__: 'true',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // Sizes are checked by scripts/build.mjs (gzipped total under the budget).
    chunkSizeWarningLimit: 1024,
    // Scripts are loaded from files only: the page's Content-Security-Policy has script-src 'self'.
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (id.includes('node_modules/element-plus') || id.includes('node_modules/@element-plus')) return 'element-plus';
          if (id.includes('node_modules/')) return 'vendor';
          return undefined;
        },
      },
    },
  },
  server: {
    // The preset playbooks (src/pages/playbooks/presets.ts) are the repository's playbooks/*.toml.
    fs: { allow: ['.', '../playbooks'] },
    proxy: { '/api': { target: process.env.QZ_API ?? 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
