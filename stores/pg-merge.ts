/*
 * A session save as one UPDATE on PostgreSQL: the request's changed keys are merged into whatever
 * record the row holds when the row lock is taken, so overlapping saves never conflict and a
 * write-only save costs one round trip. The row is keyv's envelope `{"value":"<record>","expires":n}`
 * with our record `{"c":…,"u":…,"i":…,"d":{…}}` as a JSON string inside it; every member but `d` is kept as
 * it is (the core owns them: a merge must never drop the user or index slot). Everything is done with the
 * `json` type, which keeps each value's text as written (jsonb would re-serialize values and rejects
 * \u0000 and lone surrogates); only data keys are decoded, and a key Postgres cannot hold as text
 * (a data exception) makes the store answer "cannot merge" so the core falls back to compare-and-set.
 *
 * Parameters, in order: key, now (ms), clear (boolean), keys to delete (text[]), keys to set as a
 * JSON object (twice), new expiry (ms), largest record in bytes.
 */

/** The merge statement for `table`; `expires` is the dialect's indexed expiry expression. */
export function mergeStatement(table: string, expires: (column: string) => string): string {
  return `WITH cur AS (
    SELECT key, (value::json ->> 'value')::json AS r FROM ${table} WHERE key = ? AND ${expires('value')} > ? FOR UPDATE
  ), merged AS (
    SELECT key, '{' || coalesce((
        SELECT string_agg(to_json(f.key)::text || ':' || f.value::text, ',' ORDER BY f.ord)
          FROM json_each(r) WITH ORDINALITY AS f(key, value, ord) WHERE f.key <> 'd'
      ) || ',', '')
      || '"d":{' || coalesce((
        SELECT string_agg(to_json(kv.k)::text || ':' || kv.v::text, ',' ORDER BY kv.src, kv.ord)
        FROM (
          SELECT o.key AS k, o.value AS v, 0 AS src, o.ord
            FROM json_each(CASE WHEN ? THEN '{}'::json ELSE r -> 'd' END) WITH ORDINALITY AS o(key, value, ord)
            WHERE o.key <> ALL(?::text[]) AND o.key NOT IN (SELECT s.key FROM json_each(?::json) AS s)
          UNION ALL
          SELECT s.key, s.value, 1, s.ord FROM json_each(?::json) WITH ORDINALITY AS s(key, value, ord)
        ) AS kv), '') || '}}' AS record
    FROM cur
  )
  UPDATE ${table} AS t SET value = json_build_object('value', merged.record, 'expires', ?::numeric)::text
    FROM merged WHERE t.key = merged.key AND octet_length(merged.record) <= ?
    RETURNING merged.record AS value`;
}

/** True for a PostgreSQL data exception (SQLSTATE class 22), e.g. a key with \u0000 decoded to text. */
export function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}
