// What a caught value says, for a log line or a status: registries fail with Errors and, sometimes, with anything else.

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
