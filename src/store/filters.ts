// A payload filter evaluated against a sample payload: the very predicate the publish
// statement evaluates (store/publish.ts), so "test against a sample" cannot disagree with
// what fan-out does.
import type { Queryable } from './db.js';

/** Whether the compiled filter (an SQL/JSON path predicate) lets the payload through. */
export async function filterMatches(q: Queryable, filterPath: string, payloadJson: string): Promise<boolean> {
  const rows = await q.query<{ matches: boolean | null }>(
    `SELECT jsonb_path_match($2::jsonb, $1::jsonpath, '{}', true) AS matches`,
    [filterPath, payloadJson],
  );
  return rows[0]?.matches === true;
}
