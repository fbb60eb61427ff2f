/** `nile doctor [--json]`: wired once the doctor's analyses are in. */
export async function doctor(_argv: string[]): Promise<number> {
  process.stderr.write('nile doctor: not available yet\n');
  return 2;
}
