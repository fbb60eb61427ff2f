/** One named cause of a failed or sick app, with what shows it. */
export interface Finding {
  cause: string; // short id, e.g. 'port-in-use'
  summary: string; // one line a developer understands, e.g. "port 8080 is already in use"
  evidence: string[]; // quoted lines, file paths, numbers
  source?: string; // the line it came from: "output line 12", "/var/log/app.log line 3"
  level?: string; // the log level of that line, when it was logged at WARN or below: never the headline
}
