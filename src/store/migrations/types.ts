/** A schema migration. Ids sort in application order ("001_foundation", "002_lora", ...). */
export interface Migration {
  id: string;
  sql: string;
}
