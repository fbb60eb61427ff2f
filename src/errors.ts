// What a caught value says. Faults come as Errors, Node system errors, and sometimes anything else.

/** The message, for status lines and logs where the whole sentence matters (registries, config). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The shortest telling form (`ECONNREFUSED`, `ENOENT`), for one-line probe reasons and log fields. */
export function errorText(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
