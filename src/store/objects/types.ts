/**
 * The few calls a content-addressed blob store needs from an object store. S3 and Azure Blob Storage both
 * answer them through their official clients; nothing else in loraloop talks to either service.
 */
export interface ObjectBackend {
  /** Where the objects live, for messages: `s3://bucket/prefix`, `azure://container/prefix`. */
  readonly location: string;
  exists(key: string): Promise<boolean>;
  /** Write the whole object. Content-addressed keys make a repeated put harmless. */
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** The object's bytes, or undefined when there is no such object. */
  get(key: string): Promise<Buffer | undefined>;
  /** Delete the object; false when there was none. */
  delete(key: string): Promise<boolean>;
}
