/** The JVM options that size its memory, from the command and the option variables the JVM reads. */
export function heapSettings(command: string[], env: Record<string, string>): string {
  const sizing = /^-(Xmx|Xms|Xss|XX:(Max|Initial|Min)RAMPercentage|XX:MaxRAM|XX:MaxDirectMemorySize|XX:MaxMetaspaceSize)/;
  const fromEnv = ['JAVA_TOOL_OPTIONS', 'JDK_JAVA_OPTIONS', '_JAVA_OPTIONS'].flatMap((name) => (env[name] ?? '').split(/\s+/));
  const found = [...command, ...fromEnv].filter((arg) => sizing.test(arg));
  return found.length ? found.join(' ') : 'no heap options (the JVM takes a quarter of the limit for its heap)';
}
