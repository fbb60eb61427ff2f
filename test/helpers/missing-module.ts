import Module from 'node:module';

// Preloaded with `--import`: the package MISSING_MODULE names cannot be required, as in an image built without it.
const missing = process.env.MISSING_MODULE;
const resolver = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
const resolve = resolver._resolveFilename;
if (missing) {
  resolver._resolveFilename = function (request, ...rest) {
    if (request === missing) throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    return resolve.call(this, request, ...rest);
  };
}
