import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The session ID inside an express-session cookie value (`s:` + ID + `.` + HMAC-SHA-256 in base64
 * without padding, as cookie-signature writes it), when one of `secrets` signed it; else undefined.
 * A forged value is rejected here, before any store sees its ID.
 */
export function unsignLegacyCookie(
  value: string | undefined,
  secrets: readonly string[],
): string | undefined {
  if (value === undefined || !value.startsWith('s:')) return undefined;
  const signed = value.slice(2);
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const sid = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(
      createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, ''),
    );
    if (expected.length === given.length && timingSafeEqual(expected, given)) return sid;
  }
  return undefined;
}
