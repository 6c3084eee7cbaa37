/**
 * What the people detector sees in one image, in coordinates normalised to the image (0..1 on each axis),
 * so the numbers do not depend on the size the detector ran at. Shared by the worker and its client.
 */

/** An axis-aligned box, normalised: x, y of the top-left corner, width and height. */
export interface NormBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One body keypoint (MoveNet's 17 COCO points: nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles). */
export interface Keypoint {
  part: string;
  x: number;
  y: number;
  /** 0..1 confidence that the point is visible there. */
  score: number;
}

/** The raw detections of one image. */
export interface PeopleDetection {
  /** Faces (BlazeFace), most confident first. */
  faces: Array<NormBox & { score: number }>;
  /** The pose of the most prominent person (MoveNet Lightning is a single-person model), or null. */
  pose: { score: number; box: NormBox; keypoints: Keypoint[] } | null;
  /** Milliseconds the detector spent on this image (inside the worker). */
  ms: number;
}

/** Request to the worker: an RGB image, 8 bits per channel. */
export interface DetectRequest {
  id: number;
  data: Uint8Array;
  width: number;
  height: number;
}

/** Reply from the worker. */
export type DetectReply = { id: number; ok: true; result: PeopleDetection } | { id: number; ok: false; error: string };
