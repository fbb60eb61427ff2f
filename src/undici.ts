// undici for the modules that load it only when they need it: a static re-export, which the bundle
// resolves as it does undici's other imports (a dynamic import of the CommonJS package would not).
export { request } from 'undici';
