/**
 * The shape of session data. Empty on purpose: apps describe theirs by declaration merging,
 * `declare module 'kvsession' { interface SessionData { userId: number } }`.
 * Until they do, keys are open and values are `unknown`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging needs an interface
export interface SessionData {}
