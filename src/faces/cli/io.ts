/** What the CLI writes to; tests capture it, main.ts passes the real streams. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress bars only then). */
  isTty: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
  readStdin: () => Promise<string>;
}
