/**
 * The sentences people see when something goes wrong. Never silence, never a stack trace: say what
 * happened and what to do, in the thread where the person asked.
 */
import { escapeSlack } from './blocks.js';

/** The Slack Web API error code inside a thrown client error, if any (`not_in_channel`, `invalid_auth`...). */
export function slackErrorCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'data' in e) {
    const data = (e as { data?: unknown }).data;
    if (data && typeof data === 'object' && 'error' in data && typeof (data as { error: unknown }).error === 'string') {
      return (data as { error: string }).error;
    }
  }
  return undefined;
}

const SLACK_HINTS: Record<string, string> = {
  not_in_channel: 'Invite me to this channel first (`/invite @loraloop`), then ask again.',
  channel_not_found: 'I cannot see this channel; invite me to it (`/invite @loraloop`) or DM me.',
  is_archived: 'This channel is archived.',
  missing_scope: 'The Slack app lacks a scope it needs (see the loraloop README: chat:write, files:write, ...); an admin must add it and reinstall the app.',
  file_uploads_disabled: 'File uploads are turned off in this workspace, so I cannot post the image.',
  ratelimited: 'Slack asked me to slow down; try again in a minute.',
};

/** A Slack API failure as a sentence. */
export function describeSlackError(e: unknown): string {
  const code = slackErrorCode(e);
  if (code) return `Slack refused the request (${code}). ${SLACK_HINTS[code] ?? 'Please try again in a minute.'}`;
  return 'I could not reach Slack to post the result. Please try again in a minute.';
}

/** A failed cover, as the thread sees it. */
export function coverFailureText(title: string, failure: { code: string; message: string; hint?: string | undefined }): string {
  const head = `:warning: Sorry, I could not make the cover for *${escapeSlack(title)}*.`;
  if (failure.code === 'INTERNAL') {
    return `${head} Something went wrong on my side (${failure.code}). Please try again; if it keeps happening, tell whoever runs loraloop (the details are in its log).`;
  }
  const hint = failure.hint ? ` ${escapeSlack(failure.hint)}` : '';
  return `${head} ${escapeSlack(failure.message)}${hint}`;
}

/** The cover was made but could not be posted. */
export function postFailureText(title: string, e: unknown): string {
  return `:warning: I made the cover for *${escapeSlack(title)}* but could not post it. ${describeSlackError(e)}`;
}

export function progressText(title: string, step?: string): string {
  const base = `:hourglass_flowing_sand: Working on a cover for *${escapeSlack(title)}*…`;
  return step ? `${base} ${escapeSlack(step)}` : base;
}
