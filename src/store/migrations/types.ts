/**
 * A schema migration. Ids sort in application order ("001_foundation", "002_lora", ...). Each backend has its own
 * folder of migrations (`sqlite/`), written in its own SQL; a second database adds a folder, not a rewrite.
 */
export interface Migration {
  id: string;
  sql: string;
}
