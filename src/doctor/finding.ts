/** One named cause of a failed or sick app, with what shows it. */
export interface Finding {
  cause: string; // short id, e.g. 'port-in-use'
  summary: string; // one line a developer understands, e.g. "port 8080 is already in use"
  evidence: string[]; // quoted lines, file paths, numbers
}
