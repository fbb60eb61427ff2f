import { appendFileSync } from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';

// Runs on the loader's hooks thread: one line per resolved module URL, builtins included (node:http).
let file = '';

export const initialize: InitializeHook<{ file: string }> = (data) => {
  file = data.file;
};

export const resolve: ResolveHook = async (specifier, context, next) => {
  const resolved = await next(specifier, context);
  appendFileSync(file, resolved.url + '\n');
  return resolved;
};
