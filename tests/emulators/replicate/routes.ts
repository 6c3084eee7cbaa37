/**
 * The Replicate emulator's API (CONTRACTS.md §2): account, files, models and versions, trainings and
 * predictions (validated like Replicate's 422s, `Prefer: wait`), cancel, list pages, and the delivery URLs of
 * finished jobs (a real weights .tar, real PNGs).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { RUNNER_ASPECT_RATIOS } from '../../../src/cover/backends/replicate-inputs.js';
import { schemaErrors } from '../replicate-schemas.js';
import {
  EVENTS,
  FLUX_TRAINER_NAME,
  FLUX_TRAINER_OWNER,
  JOB_NAME,
  TERMINAL,
  buildTar,
  defaultLora,
  invalidInput,
  json,
  newId,
  problem,
  validateTrainerInput,
  type Body,
  type Reply,
} from './wire.js';
import type { ReplicateWorld } from './state.js';
import type { EmulatedJob, EmulatedModel, FileObject, WebhookEvent } from './types.js';

export interface ReplicateRoutes {
  /** Answer an authorized `/v1/...` request whose body has been read. */
  route(req: IncomingMessage, url: URL, raw: Body): Promise<Reply>;
  /** Answer `GET /delivery/<job>/<file>` (no auth, like Replicate's delivery CDN). */
  serveDelivery(path: string): Promise<Reply>;
}

export function createRoutes(world: ReplicateWorld): ReplicateRoutes {
  const { options, account, webhookSecret, maxFileBytes, pageSize, preferWaitUnitMs, origin, base, state, byId } = world;
  const { now, iso, addModel, render, finish, moveTo, syncClock, onPoll, newJob } = world;
  const pngCache = new Map<string, Buffer>();
  const tarCache = new Map<string, Buffer>();

  const parseJson = ({ bytes, overflow }: Body): { ok: true; value: unknown } | { ok: false; reply: Reply } => {
    if (overflow) return { ok: false, reply: problem(413, 'Request Entity Too Large', 'The request body is too large.') };
    if (bytes.length === 0) return { ok: true, value: {} };
    try {
      return { ok: true, value: JSON.parse(bytes.toString('utf8')) as unknown };
    } catch {
      return { ok: false, reply: problem(400, 'Bad request', 'The request body is not valid JSON.') };
    }
  };

  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

  /** Common webhook fields; returns an error reply or the fields. */
  const webhookFields = (body: Record<string, unknown>): Reply | { webhook?: string; webhook_events_filter?: WebhookEvent[] } => {
    const out: { webhook?: string; webhook_events_filter?: WebhookEvent[] } = {};
    if (body['webhook'] !== undefined) {
      const w = body['webhook'];
      let ok = typeof w === 'string';
      if (ok) {
        try {
          const u = new URL(w as string);
          ok = u.protocol === 'https:' || u.protocol === 'http:';
        } catch {
          ok = false;
        }
      }
      if (!ok) return problem(422, 'Invalid webhook', '- webhook: Invalid URL\n');
      out.webhook = w as string;
    }
    if (body['webhook_events_filter'] !== undefined) {
      const f = body['webhook_events_filter'];
      if (!Array.isArray(f) || !f.every((e) => typeof e === 'string' && (EVENTS as readonly string[]).includes(e))) {
        return problem(422, 'Invalid webhook_events_filter', `- webhook_events_filter: items must be one of ${EVENTS.join(', ')}\n`);
      }
      out.webhook_events_filter = f as WebhookEvent[];
    }
    return out;
  };

  const page = (items: unknown[], url: URL): Reply => {
    const cursor = Number(url.searchParams.get('cursor') ?? '0');
    const start = Number.isInteger(cursor) && cursor > 0 ? cursor : 0;
    const results = items.slice(start, start + pageSize);
    const link = (at: number) => {
      const u = new URL(`${origin}${url.pathname}`);
      u.searchParams.set('cursor', String(at));
      return u.toString();
    };
    return json(200, {
      next: start + pageSize < items.length ? link(start + pageSize) : null,
      previous: start > 0 ? link(Math.max(0, start - pageSize)) : null,
      results,
    });
  };

  /** What ostris' train.py would say about `input_images` before training (zip check, image count). */
  const inspectTrainingImages = (input: Record<string, unknown>): { trainerError: string | null; imageCount: number } => {
    const ref = input['input_images'];
    if (typeof ref !== 'string') return { trainerError: null, imageCount: 10 };
    const fileMatch = ref.startsWith(`${base}/files/`) ? /\/files\/([^/?#]+)/.exec(ref.slice(base.length)) : null;
    if (!fileMatch) {
      let path = ref;
      try {
        path = new URL(ref).pathname;
      } catch {
        return { trainerError: `input_images is not a URL: ${ref}`, imageCount: 0 };
      }
      return path.endsWith('.zip') ? { trainerError: null, imageCount: 10 } : { trainerError: 'input_images must be a zip file', imageCount: 0 };
    }
    const file = state.files.find((f) => f.object.id === fileMatch[1]);
    if (!file) return { trainerError: `could not download input_images: file ${fileMatch[1]} not found`, imageCount: 0 };
    if (file.bytes.subarray(0, 4).toString('latin1') !== 'PK\x03\x04') return { trainerError: 'input_images must be a zip file', imageCount: 0 };
    try {
      const names = Object.keys(unzipSync(new Uint8Array(file.bytes), { filter: (f) => !f.name.startsWith('__MACOSX/') }));
      const images = names.filter((n) => /\.(jpe?g|png|webp)$/i.test(n) && !/(^|\/)\._/.test(n));
      if (images.length === 0) return { trainerError: 'No images found in input_images', imageCount: 0 };
      return { trainerError: null, imageCount: images.length };
    } catch {
      return { trainerError: 'input_images is not a valid zip file', imageCount: 0 };
    }
  };


  const latestVersion = (m: EmulatedModel) => m.versions[0];

  const modelObject = (m: EmulatedModel) => {
    const latest = latestVersion(m);
    return {
      url: `https://replicate.com/${m.owner}/${m.name}`,
      owner: m.owner,
      name: m.name,
      description: null,
      visibility: m.visibility,
      github_url: null,
      paper_url: null,
      license_url: null,
      run_count: 0,
      cover_image_url: null,
      default_example: null,
      latest_version: latest ? versionObject(m, latest) : null,
    };
  };
  const versionObject = (m: EmulatedModel, v: { id: string; created_at: string }) => ({ id: v.id, created_at: v.created_at, cog_version: '0.9.25', openapi_schema: m.openapiSchema ?? null });

  const createFile = async (req: IncomingMessage, body: Body): Promise<Reply> => {
    const { bytes, overflow } = body;
    const ct = req.headers['content-type'] ?? '';
    if (!ct.startsWith('multipart/form-data')) return problem(400, 'Bad request', 'Expected multipart/form-data with a "content" part.');
    if (overflow) return problem(413, 'Request Entity Too Large', `Files must be less than ${Math.round(maxFileBytes / 1024 / 1024)}MB in size`);
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(bytes), { headers: { 'content-type': ct } }).formData();
    } catch {
      return problem(400, 'Bad request', 'The multipart body could not be parsed.');
    }
    const content = form.get('content');
    if (!(content instanceof Blob)) return problem(422, 'Input validation failed', '- content: Field required\n');
    const data = Buffer.from(await content.arrayBuffer());
    if (data.length > maxFileBytes) {
      return problem(413, 'Request Entity Too Large', `Files must be less than ${Math.round(maxFileBytes / 1024 / 1024)}MB in size`);
    }
    let metadata: Record<string, unknown> = {};
    const meta = form.get('metadata');
    if (meta !== null) {
      const text = typeof meta === 'string' ? meta : await meta.text();
      try {
        const parsed: unknown = JSON.parse(text || '{}');
        if (!isRecord(parsed)) throw new Error('not an object');
        metadata = parsed;
      } catch {
        return problem(422, 'Input validation failed', '- metadata: must be a JSON object\n');
      }
    }
    const nameField = form.get('filename');
    const filename = typeof nameField === 'string' && nameField ? nameField : content instanceof File && content.name ? content.name : 'file';
    if (Buffer.byteLength(filename) > 255) return problem(422, 'Input validation failed', '- filename: at most 255 bytes\n');
    const typeField = form.get('type');
    const contentType = typeof typeField === 'string' && typeField ? typeField : content.type || 'application/octet-stream';
    const id = newId();
    const created = now();
    const object: FileObject = {
      id,
      content_type: contentType,
      size: data.length,
      checksums: { sha256: createHash('sha256').update(data).digest('hex') },
      metadata,
      created_at: iso(created),
      expires_at: iso(created + 24 * 3600 * 1000),
      urls: { get: `${base}/files/${id}` },
    };
    state.files.push({ object, filename, bytes: data });
    return json(201, object);
  };

  const createTraining = async (raw: Body, owner: string, name: string, versionId: string): Promise<Reply> => {
    const parsed = parseJson(raw);
    if (!parsed.ok) return parsed.reply;
    const trainer = state.models.get(`${owner}/${name}`);
    if (!trainer) return problem(404, 'Not found', `Model ${owner}/${name} does not exist.`);
    if (!trainer.versions.some((v) => v.id === versionId)) return problem(404, 'Not found', `Version ${versionId} of ${owner}/${name} does not exist.`);
    if (!trainer.trainable) return problem(422, 'Unprocessable Entity', `${owner}/${name} does not support training.`);
    const body = parsed.value;
    if (!isRecord(body)) return problem(422, 'Input validation failed', 'The body must be a JSON object.\n');
    const unknownKeys = Object.keys(body).filter((k) => !['destination', 'input', 'webhook', 'webhook_events_filter'].includes(k));
    if (unknownKeys.length) return problem(422, 'Input validation failed', unknownKeys.map((k) => `- ${k}: Extra inputs are not permitted`).join('\n') + '\n');
    const destination = body['destination'];
    if (typeof destination !== 'string' || !/^[^/\s]+\/[^/\s:]+$/.test(destination)) {
      return problem(422, 'Input validation failed', '- destination: must be of the form owner/name\n');
    }
    const dest = state.models.get(destination);
    if (!dest) return problem(404, 'Not found', `The specified training destination ${destination} does not exist.`);
    if (dest.owner !== account) return problem(403, 'Forbidden', `You do not have permission to create versions of ${destination}.`);
    const input = body['input'];
    if (!isRecord(input)) return problem(422, 'Input validation failed', '- input: Field required\n');
    if (owner === FLUX_TRAINER_OWNER && name === FLUX_TRAINER_NAME) {
      const errs = validateTrainerInput(input);
      if (errs.length) return invalidInput(errs);
    }
    const hook = webhookFields(body);
    if ('status' in hook) return hook;
    const job = newJob(
      'training',
      { model: `${owner}/${name}`, version: versionId, input, destination, ...hook },
      owner === FLUX_TRAINER_OWNER && name === FLUX_TRAINER_NAME ? inspectTrainingImages(input) : {},
    );
    return json(201, render(job));
  };

  const preferWaitSeconds = (req: IncomingMessage): Reply | number | undefined => {
    const prefer = req.headers['prefer'];
    if (prefer === undefined) return undefined;
    const m = /^wait(?:=([1-9]|[1-9][0-9]|60))?$/.exec(String(prefer).trim());
    if (!m) return problem(422, 'Invalid Prefer header', 'Prefer must be "wait" or "wait=N" with N between 1 and 60.');
    return m[1] ? Number(m[1]) : 60;
  };

  const createPrediction = async (req: IncomingMessage, raw: Body, modelPath?: { owner: string; name: string }): Promise<Reply> => {
    const wait = preferWaitSeconds(req);
    if (typeof wait === 'object') return wait;
    const parsed = parseJson(raw);
    if (!parsed.ok) return parsed.reply;
    const body = parsed.value;
    if (!isRecord(body)) return problem(422, 'Input validation failed', 'The body must be a JSON object.\n');
    const allowed = ['input', 'webhook', 'webhook_events_filter', 'stream', ...(modelPath ? [] : ['version'])];
    const unknownKeys = Object.keys(body).filter((k) => !allowed.includes(k));
    if (unknownKeys.length) return problem(422, 'Input validation failed', unknownKeys.map((k) => `- ${k}: Extra inputs are not permitted`).join('\n') + '\n');
    const input = body['input'];
    if (!isRecord(input)) return problem(422, 'Input validation failed', '- input: Field required\n');
    let model: EmulatedModel | undefined;
    let version: string | undefined;
    if (modelPath) {
      model = state.models.get(`${modelPath.owner}/${modelPath.name}`);
      if (!model) return problem(404, 'Not found', `Model ${modelPath.owner}/${modelPath.name} does not exist.`);
      if (!model.official && !latestVersion(model)) return problem(422, 'Unprocessable Entity', `${modelPath.owner}/${modelPath.name} has no version to run.`);
      version = model.official ? 'hidden' : latestVersion(model)?.id;
    } else {
      const ref = body['version'];
      if (typeof ref !== 'string' || !ref) return problem(422, 'Input validation failed', '- version: Field required\n');
      const m = /^(?:([^/\s:]+)\/([^/\s:]+))?(?::?([0-9a-f]{64}))?$/.exec(ref);
      if (m?.[3]) {
        version = m[3];
        model = m[1] ? state.models.get(`${m[1]}/${m[2]}`) : [...state.models.values()].find((x) => x.versions.some((v) => v.id === version));
        if (model && !model.versions.some((v) => v.id === version)) model = undefined;
      } else if (m?.[1]) {
        model = state.models.get(`${m[1]}/${m[2]}`);
        if (model && !model.official) model = undefined;
        version = 'hidden';
      }
      if (!model) return problem(422, 'Invalid version or not permitted', `The specified version does not exist (or perhaps you don't have permission to use it?): ${ref}`);
    }
    const refused = model.openapiSchema ? schemaErrors(input, model.openapiSchema) : [];
    if (refused.length) return invalidInput(refused);
    const hook = webhookFields(body);
    if ('status' in hook) return hook;
    const job = newJob('prediction', { model: `${model.owner}/${model.name}`, version: version ?? 'hidden', input, ...hook });
    const location = { location: job.urls['get'] ?? '' };
    if (wait === undefined) return json(201, render(job), location);
    if (job.sim.plan.syncCompletes) {
      moveTo(job, Number.MAX_SAFE_INTEGER);
      return json(201, render(job), location);
    }
    await new Promise((r) => setTimeout(r, wait * preferWaitUnitMs));
    return json(202, render(job), location);
  };

  const cancelJob = (job: EmulatedJob): Reply => {
    if (!TERMINAL.has(job.status)) {
      job.logs += '\nCanceled by user\n';
      finish(job, 'canceled');
    }
    return json(200, render(job));
  };

  const serveDelivery = async (path: string): Promise<Reply> => {
    const m = /^\/delivery\/([^/]+)\/([^/]+)$/.exec(path);
    const job = m?.[1] ? byId.get(m[1]) : undefined;
    if (!m || !job || job.status !== 'succeeded') return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not found' };
    if (job.kind === 'training' && m[2] === 'trained_model.tar') {
      let tar = tarCache.get(job.id);
      if (!tar) {
        const rank = typeof job.input['lora_rank'] === 'number' ? job.input['lora_rank'] : 16;
        const steps = typeof job.input['steps'] === 'number' ? job.input['steps'] : 1000;
        const trigger = typeof job.input['trigger_word'] === 'string' ? job.input['trigger_word'] : 'TOK';
        const lora = (options.buildLora ?? defaultLora)({ rank, steps, triggerWord: trigger });
        const mtime = Math.floor(now() / 1000);
        tar = await buildTar(
          [
            { name: 'output/' },
            { name: `output/${JOB_NAME}/` },
            { name: `output/${JOB_NAME}/lora.safetensors`, data: lora },
            { name: `output/${JOB_NAME}/captions/` },
            { name: `output/${JOB_NAME}/captions/image_0.txt`, data: Buffer.from(`a photo of ${trigger}\n`) },
          ],
          mtime,
        );
        tarCache.set(job.id, tar);
      }
      return { status: 200, headers: { 'content-type': 'application/x-tar' }, body: tar };
    }
    const out = /^out-(\d+)\.png$/.exec(m[2] ?? '');
    if (job.kind === 'prediction' && out && Array.isArray(job.output) && Number(out[1]) < job.output.length) {
      const key = `${job.id}/${out[1]}`;
      let png = pngCache.get(key);
      if (!png) {
        const seed = createHash('sha256').update(key).digest();
        // The LoRA runner makes its aspect ratio's size (cog-flux predict.py); trained versions take width/height.
        const fixed = RUNNER_ASPECT_RATIOS[String(job.input['aspect_ratio'])];
        const half = job.input['megapixels'] === '0.25' ? 2 : 1;
        const dim = (k: 'width' | 'height') => {
          const v = job.input[k];
          if (fixed && v === undefined) return Math.floor(fixed[k === 'width' ? 0 : 1] / half);
          return typeof v === 'number' && Number.isInteger(v) && v >= 16 && v <= 2048 ? v : 64;
        };
        png = await sharp({
          create: { width: dim('width'), height: dim('height'), channels: 3, background: { r: seed[0] ?? 0, g: seed[1] ?? 0, b: seed[2] ?? 0 } },
        })
          .png()
          .toBuffer();
        pngCache.set(key, png);
      }
      return { status: 200, headers: { 'content-type': 'image/png' }, body: png };
    }
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not found' };
  };

  const route = async (req: IncomingMessage, url: URL, raw: Body): Promise<Reply> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const p = url.pathname.replace(/\/+$/, '');
    const seg = p.split('/').slice(2).map(decodeURIComponent); // after '', 'v1'
    const is = (m: string, ...pattern: string[]) =>
      method === m && seg.length === pattern.length && pattern.every((x, i) => x === '*' || x === seg[i]);

    if (is('GET', 'account')) return json(200, { type: 'organization', username: account, name: account, github_url: null });
    if (is('GET', 'webhooks', 'default', 'secret')) return json(200, { key: webhookSecret });

    if (is('POST', 'files')) return createFile(req, raw);
    if (is('GET', 'files')) return page([...state.files].reverse().map((f) => f.object), url);
    if (is('GET', 'files', '*') || is('DELETE', 'files', '*') || is('GET', 'files', '*', 'download')) {
      const idx = state.files.findIndex((f) => f.object.id === seg[1]);
      const file = state.files[idx];
      if (!file) return problem(404, 'Not found', 'The requested resource could not be found.');
      if (method === 'DELETE') {
        state.files.splice(idx, 1);
        return { status: 204 };
      }
      if (seg[2] === 'download') return { status: 200, headers: { 'content-type': file.object.content_type }, body: file.bytes };
      return json(200, file.object);
    }

    if (is('POST', 'models')) {
      const parsed = parseJson(raw);
      if (!parsed.ok) return parsed.reply;
      const b = parsed.value;
      if (!isRecord(b) || typeof b['owner'] !== 'string' || typeof b['name'] !== 'string' || !['public', 'private'].includes(String(b['visibility']))) {
        return problem(422, 'Input validation failed', '- owner, name, visibility and hardware are required\n');
      }
      if (b['owner'] !== account) return problem(403, 'Forbidden', `You cannot create models for ${b['owner']}.`);
      if (state.models.has(`${b['owner']}/${b['name']}`)) return problem(409, 'Conflict', `A model named ${b['owner']}/${b['name']} already exists.`);
      addModel({ owner: b['owner'], name: b['name'], visibility: b['visibility'] as 'public' | 'private' });
      const created = state.models.get(`${b['owner']}/${b['name']}`);
      return json(201, created ? modelObject(created) : {});
    }
    if (seg[0] === 'models' && seg.length >= 3) {
      const model = state.models.get(`${seg[1]}/${seg[2]}`);
      if (is('POST', 'models', '*', '*', 'versions', '*', 'trainings')) return createTraining(raw, seg[1] ?? '', seg[2] ?? '', seg[4] ?? '');
      if (is('POST', 'models', '*', '*', 'predictions')) return createPrediction(req, raw, { owner: seg[1] ?? '', name: seg[2] ?? '' });
      if (!model) return problem(404, 'Not found', `Model ${seg[1]}/${seg[2]} does not exist.`);
      if (is('GET', 'models', '*', '*')) return json(200, modelObject(model));
      if (is('GET', 'models', '*', '*', 'versions')) return page(model.versions.map((v) => versionObject(model, v)), url);
      if (is('GET', 'models', '*', '*', 'versions', '*')) {
        const v = model.versions.find((x) => x.id === seg[4]);
        return v ? json(200, versionObject(model, v)) : problem(404, 'Not found', `Version ${seg[4]} does not exist.`);
      }
    }

    if (is('POST', 'predictions')) return createPrediction(req, raw);
    for (const [plural, list] of [
      ['predictions', state.predictions],
      ['trainings', state.trainings],
    ] as const) {
      if (is('GET', plural)) {
        list.forEach(syncClock);
        return page([...list].reverse().map(render), url);
      }
      if (is('GET', plural, '*') || is('POST', plural, '*', 'cancel')) {
        const job = byId.get(seg[1] ?? '');
        if (!job || `${job.kind}s` !== plural) return problem(404, 'Not found', 'The requested resource could not be found.');
        if (method === 'POST') return cancelJob(job);
        onPoll(job);
        return json(200, render(job));
      }
    }
    return problem(404, 'Not found', `No route for ${method} ${p}.`);
  };

  return { route, serveDelivery };
}
