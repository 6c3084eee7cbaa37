/**
 * Shot type from what the detector saw: framing (close-up, medium shot, full-body, far/wide), whether there
 * are several people, whether something hides part of the subject, and whether the background is busy.
 * Pure: detections and a small grey image in, categories and plain facts out. Thresholds were set on the
 * hand-labelled real photos in tests/fixtures/people (their precision and recall are asserted in
 * tests/dataset/people/shot.test.ts).
 */
import type { Keypoint, NormBox, PeopleDetection } from './types.js';

/** The shot of one image. */
export interface ShotType {
  /** People the detector is confident about (0 when nobody is in it). */
  people: number;
  framing: 'close-up' | 'medium shot' | 'full-body' | 'far/wide' | null;
  multi: boolean;
  occlusion: boolean;
  complexBackground: boolean;
  /** Where the main face is, for the caption ("face centred", "face left"), or null without a face. */
  facePosition: 'centred' | 'left' | 'right' | 'high' | 'low' | null;
  /** Share of strong edges outside the people, 0..1 (what complexBackground rests on). */
  edgeDensity: number;
}

/** A grey image (0..255), row-major. */
export interface GreyImage {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

/**
 * A person is there when MoveNet's pose score reaches this AND it sees at least POSE_POINTS keypoints (cats,
 * cups and empty scenes stay below 0.35; a test card reached 0.46 on a few weak points).
 */
const POSE_PRESENT = 0.4;
const POSE_POINTS = 4;
/** A keypoint counts as seen at this score. */
const SEEN = 0.3;
/** Faces at or above this score count as people (BlazeFace also fires weakly on animal faces and patterns). */
const FACE_PERSON = 0.5;
/** A face box this tall (share of the image height; BlazeFace's box includes forehead and chin) is a close-up. */
const CLOSE_UP_FACE = 0.5;
/** A whole figure spanning less than this share of the image height is far/wide. */
const FAR_EXTENT = 0.45;
/** Share of strong-edge pixels outside the people above which the background is busy. */
const BUSY_EDGES = 0.16;

const inFrame = (k: Keypoint, m = 0.01): boolean => k.x > m && k.x < 1 - m && k.y > m && k.y < 1 - m;

function kp(pose: PeopleDetection['pose'], part: string): Keypoint | undefined {
  return pose?.keypoints.find((k) => k.part === part);
}

function seen(pose: PeopleDetection['pose'], parts: string[], min = SEEN): Keypoint[] {
  const out: Keypoint[] = [];
  for (const p of parts) {
    const k = kp(pose, p);
    if (k && k.score >= min && inFrame(k)) out.push(k);
  }
  return out;
}

const HEAD = ['nose', 'leftEye', 'rightEye', 'leftEar', 'rightEar'];
const SHOULDERS = ['leftShoulder', 'rightShoulder'];
const HIPS = ['leftHip', 'rightHip'];
const KNEES = ['leftKnee', 'rightKnee'];
const ANKLES = ['leftAnkle', 'rightAnkle'];

/** MoveNet found a person (see POSE_PRESENT). */
function hasPose(d: PeopleDetection): boolean {
  return (d.pose?.score ?? 0) >= POSE_PRESENT && (d.pose?.keypoints.filter((k) => k.score >= SEEN).length ?? 0) >= POSE_POINTS;
}

/**
 * Faces that count as people. A face box filling the whole frame with no body pose behind it is what
 * BlazeFace makes of an animal's face in close-up: not a person.
 */
function peopleFaces(d: PeopleDetection): Array<NormBox & { score: number }> {
  const posed = hasPose(d);
  return d.faces.filter((f) => f.score >= FACE_PERSON && (posed || f.h < 0.9));
}

/** The face that belongs to the pose (its nose inside the box), else the largest face. */
function mainFace(d: PeopleDetection, faces: Array<NormBox & { score: number }>): (NormBox & { score: number }) | null {
  const nose = kp(d.pose, 'nose');
  if (nose && nose.score >= SEEN) {
    const hit = faces.find((f) => nose.x >= f.x && nose.x <= f.x + f.w && nose.y >= f.y && nose.y <= f.y + f.h);
    if (hit) return hit;
  }
  return [...faces].sort((a, b) => b.h - a.h)[0] ?? null;
}

function framingOf(d: PeopleDetection, face: NormBox | null): ShotType['framing'] {
  const pose = d.pose;
  if (face && face.h >= CLOSE_UP_FACE) return 'close-up';
  const head = seen(pose, HEAD);
  const ankles = seen(pose, ANKLES, 0.2);
  const knees = seen(pose, KNEES);
  const legs = [...ankles, ...knees];
  const body = [...head, ...seen(pose, SHOULDERS), ...seen(pose, HIPS), ...legs];
  const top = Math.min(...(head.length ? head : body).map((k) => k.y), face ? face.y : 1);
  const bottom = Math.max(0, ...body.map((k) => k.y));
  const extent = bottom - top;
  // Feet in the frame: weakly seen ankles only count under seen knees (MoveNet guesses ankles below a waist-up crop).
  if ((knees.length > 0 && ankles.length > 0) || seen(pose, ANKLES).length > 0) {
    // The whole figure is in the frame: its height decides between full-body and far/wide.
    return extent < FAR_EXTENT ? 'far/wide' : 'full-body';
  }
  // A small figure whose feet the model cannot place (sitting in a boat, behind a rail) is still far away.
  if (body.length > 0 && extent < 0.3 && (!face || face.h < 0.1)) return 'far/wide';
  // Knees or hips without feet, or a head and shoulders whose face is not close-up size: waist or knees up.
  return body.length > 0 || face ? 'medium shot' : null;
}

/**
 * Keypoints MoveNet places inside the frame but barely sees (score < 0.2): something is in front of them.
 * A turned head hides its own eyes and ears, so at least one of them must be a body point.
 */
function occluded(d: PeopleDetection): boolean {
  const pose = d.pose;
  if (!pose || pose.score < 0.5) return false;
  const low = pose.keypoints.filter((k) => k.score < 0.2 && inFrame(k, 0.05));
  return low.length >= 2 && low.some((k) => !HEAD.includes(k.part));
}

/** Share of pixels with a strong gradient outside the given boxes (Sobel magnitude on the grey image). */
export function edgeDensityOutside(img: GreyImage, boxes: NormBox[], threshold = 48): number {
  const { data, width: w, height: h } = img;
  if (w < 3 || h < 3) return 0;
  const mask = new Uint8Array(w * h);
  for (const b of boxes) {
    const x0 = Math.max(0, Math.floor(b.x * w));
    const x1 = Math.min(w, Math.ceil((b.x + b.w) * w));
    const y0 = Math.max(0, Math.floor(b.y * h));
    const y1 = Math.min(h, Math.ceil((b.y + b.h) * h));
    for (let y = y0; y < y1; y++) mask.fill(1, y * w + x0, y * w + x1);
  }
  let strong = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (mask[i]) continue;
      const a = data[i - w - 1] as number;
      const b = data[i - w] as number;
      const c = data[i - w + 1] as number;
      const l = data[i - 1] as number;
      const r = data[i + 1] as number;
      const f = data[i + w - 1] as number;
      const g = data[i + w] as number;
      const k = data[i + w + 1] as number;
      const gx = c + 2 * r + k - a - 2 * l - f;
      const gy = f + 2 * g + k - a - 2 * b - c;
      n++;
      if (gx * gx + gy * gy > threshold * threshold) strong++;
    }
  }
  return n > 0 ? strong / n : 0;
}

/** Where the main face sits in the frame. */
function facePositionOf(face: NormBox | null): ShotType['facePosition'] {
  if (!face) return null;
  const cx = face.x + face.w / 2;
  const cy = face.y + face.h / 2;
  if (cx < 0.35) return 'left';
  if (cx > 0.65) return 'right';
  if (cy < 0.2) return 'high';
  if (cy > 0.7) return 'low';
  return 'centred';
}

/** Classify one image (see module comment). */
export function classifyShot(d: PeopleDetection, grey: GreyImage): ShotType {
  const faces = peopleFaces(d);
  const posed = hasPose(d);
  const people = Math.max(faces.length, posed ? 1 : 0);
  const face = people > 0 ? mainFace(d, faces) : null;
  const framing = people > 0 ? framingOf(d, face) : null;
  const personBoxes: NormBox[] = [...faces];
  if (posed && d.pose) personBoxes.push(d.pose.box);
  const edgeDensity = edgeDensityOutside(grey, personBoxes);
  return {
    people,
    framing,
    multi: faces.length >= 2,
    occlusion: posed && occluded(d),
    // A busy background is the subject's: with nobody in the picture there is no subject to stand out.
    complexBackground: people > 0 && edgeDensity >= BUSY_EDGES,
    facePosition: facePositionOf(face),
    edgeDensity: Math.round(edgeDensity * 1000) / 1000,
  };
}

/** The taxonomy categories a shot adds (framing first). */
export function shotCategories(s: ShotType): string[] {
  const out: string[] = [];
  if (s.framing) out.push(s.framing);
  if (s.multi) out.push('multi-character');
  if (s.occlusion) out.push('occlusion');
  if (s.complexBackground) out.push('complex background');
  return out;
}
