/**
 * The outbox in SQL: inserts inside ledger transactions, per-sink cursors, and per-event delivery
 * records (settled events and dead letters) for the relay.
 *
 * A sink's position is its cursor (every event up to `last_seq` is handled) plus the events past
 * it recorded in `lk_outbox_settled`. Settled records are folded into the cursor only once they
 * are older than a horizon: on a PostgreSQL server a writer transaction may commit a lower
 * sequence number after a higher one is visible, and a cursor moved past it would skip it.
 *
 * @module
 */
import type {
  OutboxChannel,
  OutboxEvent,
  OutboxRow,
  OutboxStoreShape,
} from "../../lineage/outbox.ts";
import type { DeliveryLogShape, SettleRecord } from "../../lineage/delivery_log.ts";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { storeOp } from "./store_op.ts";
import { claimLease, releaseLease } from "./sql_leases.ts";
import { queryInIndexOrder, readInIndexOrder } from "./_index_order.ts";

/**
 * How a statement takes many JSON texts (events, checkpoints) in one parameter, by database. The
 * texts are kept as written (migration 15): never parsed into a tree to be taken apart again.
 *
 * - PGlite: a `text[]`, which the store sends in the binary format (pglite_statements.ts): each
 *   text copied as it is.
 * - A server: one JSON array of the texts, split by `json_array_elements` (each element comes
 *   back as the text it was). postgres.js would send a `text[]` in the text format, every quote
 *   and backslash of the JSON escaped, which the server reads back a character at a time: for
 *   batches of 300 events of 1.5 KB, 31 ms a statement against 9-11 ms as one JSON array.
 */
export interface JsonTexts {
  /** A call over parameter `$n` that returns one row per text, in order (cast it `::text`). */
  readonly from: (n: number) => string;
  /** The value of that parameter. */
  readonly param: (texts: ReadonlyArray<string>) => unknown;
}

const TEXT_ARRAY: JsonTexts = {
  from: (n) => `unnest($${n}::text[])`,
  param: (texts) => texts,
};

const JSON_ARRAY: JsonTexts = {
  from: (n) => `json_array_elements($${n}::text::json)`,
  // Each text is a JSON document (JSON.stringify's), so the array needs no escaping.
  param: (texts) => `[${texts.join(",")}]`,
};

/** How `dialect` takes many JSON texts in one parameter. */
export const jsonTextsFor = (dialect: SqlClient["dialect"]): JsonTexts =>
  dialect === "pglite" ? TEXT_ARRAY : JSON_ARRAY;

type EventGroups = ReadonlyArray<
  { readonly i: number; readonly events: ReadonlyArray<OutboxEvent> }
>;

/**
 * The four parameters of {@link outboxInsertFrom}, in order, one element per event: the `i` of the
 * statement's row it belongs to (the events of each row `i` in the order given), its channel, its
 * run and its JSON text (as `texts` takes them).
 */
export const outboxParams = (groups: EventGroups, texts: JsonTexts): unknown[] => {
  const rows: number[] = [];
  const channels: string[] = [];
  const runIds: string[] = [];
  const payloads: string[] = [];
  for (const { i, events } of groups) {
    for (const e of events) {
      rows.push(i);
      channels.push(e.channel);
      runIds.push(e.runId);
      payloads.push(JSON.stringify(e.payload));
    }
  }
  return [rows, channels, runIds, texts.param(payloads)];
};

/**
 * The outbox insert of a multi-row statement: the events in parameters `$first` to `$first+3`
 * (see {@link outboxParams}) of the rows of `rows` (a CTE with `i` and `job_id` columns), in the
 * order given. Events of a row not in `rows` (a write that did not apply) are left out. Dated by
 * `clock_timestamp()`, when each row's number is taken, which the settled-record horizon relies
 * on.
 */
export const outboxInsertFrom = (rows: string, first: number, texts: JsonTexts): string =>
  `insert into lk_outbox (channel, run_id, job_id, payload, created_at)
    select e.channel, e.run_id, ${rows}.job_id, e.payload::text, clock_timestamp()
    from rows from (unnest($${first}::int[]), unnest($${first + 1}::text[]),
      unnest($${first + 2}::text[]), ${texts.from(first + 3)})
      with ordinality as e(i, channel, run_id, payload, n)
    join ${rows} on ${rows}.i = e.i
    order by e.n`;

/**
 * Appends events to the outbox inside the caller's transaction, keeping their order. A lone
 * write of a few events: they go as a `text[]` on either database.
 */
export const insertOutbox = async (
  tx: SqlExecutor,
  jobId: string | null,
  events: ReadonlyArray<OutboxEvent>,
): Promise<void> => {
  if (events.length === 0) return;
  await tx.query(
    `with r as (select 0 as i, $1::text as job_id) ${outboxInsertFrom("r", 2, TEXT_ARRAY)}`,
    [jobId, ...outboxParams([{ i: 0, events }], TEXT_ARRAY)],
  );
};

/** Options of {@link makeSqlOutboxStore}. */
export interface SqlOutboxOptions {
  /**
   * Settled records younger than this stay as records instead of moving the cursor: longer than
   * any writer transaction lasts. @default 300_000
   */
  readonly horizonMs?: number;
  /**
   * Deletes the events every sink has instead of dating them delivered: for a store whose
   * retention is 0, whose next prune would delete them anyway. A deletion writes no new version
   * of the row (dating copies its payload) and leaves the prune nothing to do. @default false
   */
  readonly deleteDelivered?: boolean;
}

// Every channel an event can have (the outbox's check constraint allows these).
const CHANNELS: Readonly<Record<OutboxChannel, true>> = { openlineage: true, cloudevents: true };

/**
 * One row per channel: the lowest cursor of the sinks that take it, up to which every event of
 * the channel was handled by every sink (see markDelivered). A channel no sink takes: the
 * highest cursor, since a cursor that passed its events handled them; no sink at all: 0.
 */
export const LOWEST_CURSOR_BY_CHANNEL = `select ch.channel, coalesce(
    (select min(c.last_seq) from lk_outbox_cursors c
     where c.channels is null or c.channels ? ch.channel),
    (select max(c.last_seq) from lk_outbox_cursors c),
    0) as seq
  from (values ${Object.keys(CHANNELS).map((c) => `('${c}')`).join(", ")}) as ch(channel)`;

const CURSOR = "coalesce((select last_seq from lk_outbox_cursors where sink = $1), 0)";
const UNSETTLED =
  "not exists (select 1 from lk_outbox_settled s where s.sink = $1 and s.seq = o.seq)";
const IN_CHANNELS = "o.channel in (select jsonb_array_elements_text($2::jsonb))";
// The same test as UNSETTLED, as a subquery per row: PostgreSQL would turn NOT EXISTS into an
// anti-join that reads every settled record of the sink, when only the few undelivered events
// need looking up.
const UNSETTLED_PER_ROW =
  "(select s.seq from lk_outbox_settled s where s.sink = $1 and s.seq = o.seq) is null";

interface RawRow {
  seq: string | number;
  channel: OutboxChannel;
  run_id: string;
  job_id: string | null;
  /** The event's JSON text, as written. */
  payload: string;
}

/**
 * An event's stored text read back: its JSON object, or why it is not one. The database keeps
 * events as text (migration 15) and never checks it: what the kit writes is JSON.stringify output,
 * but a row written otherwise (by hand, a damaged file) must not stop every read it falls in.
 */
export const readStoredEvent = (
  text: string,
): { readonly payload: Record<string, unknown> } | { readonly unreadable: string } => {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (e) {
    return { unreadable: `the stored event is not JSON: ${(e as Error).message}` };
  }
  return payload !== null && typeof payload === "object" && !Array.isArray(payload)
    ? { payload: payload as Record<string, unknown> }
    : { unreadable: "the stored event is not a JSON object" };
};

const toRow = (r: RawRow): OutboxRow => {
  const row = { seq: Number(r.seq), channel: r.channel, runId: r.run_id, jobId: r.job_id };
  const read = readStoredEvent(r.payload);
  return "payload" in read ? { ...row, ...read } : { ...row, payload: {}, ...read };
};

const settledRows = (record: SettleRecord) => [
  ...(record.delivered ?? []).map((seq) => ({ seq, outcome: "delivered" })),
  ...(record.deadLetters ?? []).map((d) => ({ seq: d.seq, outcome: "dead_letter" })),
  ...(record.skipped ?? []).map((seq) => ({ seq, outcome: "skipped" })),
];

/**
 * Serialises what dates events delivered with what makes a sink known or widens its channels,
 * until the transaction ends. Without it, on a server, a sink's first round (its cursor row not
 * yet committed) and another sink's dating could overlap: the dating would not see the new sink
 * and date events it never had, which its scan then skips and retention deletes.
 */
const lockDelivery = (tx: SqlExecutor): Promise<unknown> =>
  tx.query("select pg_advisory_xact_lock(hashtext('lk_outbox_delivery'))");

/**
 * Makes `sink` known to the store and returns its cursor. A sink seen for the first time has had
 * none of the events delivered to the sinks known then, dated or below every cursor (see
 * markDelivered): they become undelivered again, so its scan for undelivered events finds them.
 */
const knowSink = async (tx: SqlExecutor, sink: string): Promise<number> => {
  await lockDelivery(tx);
  const [known] = await tx.query<{ last_seq: string | number }>(
    "select last_seq from lk_outbox_cursors where sink = $1",
    [sink],
  );
  if (known) return Number(known.last_seq);
  await tx.query("insert into lk_outbox_cursors (sink) values ($1) on conflict do nothing", [sink]);
  await tx.query("update lk_outbox set delivered_at = null where delivered_at is not null");
  await tx.query("delete from lk_outbox_delivered_through");
  return 0;
};

/**
 * Records the channels `sink` takes. A channel it did not take before had its events past the
 * sink's cursor (`cursor`) delivered without it, dated or below the lowest cursor of the sinks
 * taking it: they become undelivered again, so its scan finds them (under the same lock as
 * `knowSink`, for the same reason). Those up to the cursor stay delivered: the sink has handled
 * every event up to there, as its scan never reads them.
 */
const takeChannels = async (
  tx: SqlExecutor,
  sink: string,
  channels: ReadonlyArray<string>,
  cursor: number,
): Promise<void> => {
  const [row] = await tx.query<{ channels: ReadonlyArray<string> | null }>(
    "select channels from lk_outbox_cursors where sink = $1",
    [sink],
  );
  const before = row?.channels;
  const added = before ? channels.filter((c) => !before.includes(c)) : [];
  if (added.length > 0) {
    await tx.query(
      `update lk_outbox set delivered_at = null
       where delivered_at is not null and seq > $2
         and channel in (select jsonb_array_elements_text($1::jsonb))`,
      [JSON.stringify(added), cursor],
    );
    await tx.query(
      `delete from lk_outbox_delivered_through
       where seq > $2 and channel in (select jsonb_array_elements_text($1::jsonb))`,
      [JSON.stringify(added), cursor],
    );
  }
  // The same channels as recorded (every flush after the first): nothing to write.
  const same = before !== undefined && before !== null &&
    channels.every((c) => before.includes(c)) && before.every((c) => channels.includes(c));
  if (same) return;
  await tx.query("update lk_outbox_cursors set channels = $2::jsonb where sink = $1", [
    sink,
    JSON.stringify(channels),
  ]);
};

/** Makes `sink` known and records the channels it takes (see both); returns its cursor. */
const knowSinkTaking = async (
  tx: SqlExecutor,
  sink: string,
  channels: ReadonlyArray<string>,
): Promise<number> => {
  const cursor = await knowSink(tx, sink);
  await takeChannels(tx, sink, channels, cursor);
  return cursor;
};

const writeSettled = async (tx: SqlExecutor, sink: string, record: SettleRecord) => {
  await knowSink(tx, sink);
  await tx.query(
    `insert into lk_outbox_settled (sink, seq, outcome)
     select $1, (e->>'seq')::bigint, e->>'outcome' from jsonb_array_elements($2::jsonb) e
     on conflict do nothing`,
    [sink, JSON.stringify(settledRows(record))],
  );
  if ((record.deadLetters ?? []).length > 0) {
    await tx.query(
      `insert into lk_outbox_dead_letters (sink, seq, run_id, job_id, status, reason)
       select $1, (e->>'seq')::bigint, e->>'runId', e->>'jobId', (e->>'status')::int, e->>'reason'
       from jsonb_array_elements($2::jsonb) e
       on conflict do nothing`,
      [sink, JSON.stringify(record.deadLetters)],
    );
  }
  await tx.query(
    `insert into lk_outbox_cursors (sink, last_seq, delivered) values ($1, 0, $2)
     on conflict (sink) do update set delivered = lk_outbox_cursors.delivered + $2,
       updated_at = now()`,
    [sink, (record.delivered ?? []).length],
  );
};

/**
 * The clients whose outbox lost rows to compactions that delete what every sink has
 * (`deleteDelivered`) since their outbox was last vacuumed (see pruneOutbox).
 */
const deletedSinceVacuum = new WeakSet<SqlExecutor>();

/**
 * Dates the undelivered events every known sink has handled: past its cursor, of a channel it
 * does not take, or settled as delivered or skipped; or deletes them (`deleteDelivered`), so
 * that the next prune of `db`'s outbox vacuums it. A dead-lettered event stays undelivered, so
 * retention keeps its payload.
 *
 * The events of a channel up to the lowest cursor of the sinks that take it, which all of them
 * have moved over, are not dated one by one: that cursor is recorded with the time in
 * `lk_outbox_delivered_through` when it moves, and retention dates them by that (see
 * pruneOutbox). Dating wrote a new version of each row, payload and all: as many bytes again as
 * the events themselves. Only events settled past some sink's cursor are dated (on a server,
 * where a cursor waits out the horizon; anywhere, behind an event a sink has yet to take).
 *
 * Only the events `sink` handled since its cursor stood at `from` are looked at: past `from`, up
 * to its cursor or its newest settled event. An event becomes handled by all when the last sink
 * to take it settles it or moves its cursor over it, and that sink's compaction dates it or
 * records the lowest cursor past it; events of channels no sink takes, when any cursor moves over
 * them (the lowest cursor of such a channel is the highest one). Scanning every undelivered event
 * instead made each flush as slow as the backlog was long (0.5-1.6 s a flush with 55k pending),
 * and the relay fell further behind the longer a run went.
 */
const markDelivered = async (
  db: SqlExecutor,
  tx: SqlExecutor,
  sink: string,
  from: number,
  deleteDelivered: boolean,
): Promise<void> => {
  await lockDelivery(tx);
  // Dating: the lowest cursor of each channel, recorded when it moved, and only the events past
  // it dated (see above).
  // A channel's newest record made less than a minute ago is moved up to its lowest cursor and
  // dated now (its events were delivered by then, if earlier: retention keeps them a little
  // longer); else a new record is made. A long run makes one record per channel a minute, not
  // one per flush, so a prune reads few; each keeps the time of its last move.
  const lowest = deleteDelivered ? "" : `lowest as (${LOWEST_CURSOR_BY_CHANNEL}),
     latest as (
       select l.channel, l.seq as lowest, m.seq, m.since from lowest l
       left join lateral (
         select t.seq, t.since from lk_outbox_delivered_through t
         where t.channel = l.channel order by t.seq desc limit 1) m on true),
     moved as (
       update lk_outbox_delivered_through t set seq = m.lowest, at = now()
       from latest m
       where t.channel = m.channel and t.seq = m.seq
         and m.lowest > m.seq and m.since > now() - interval '1 minute'),
     added as (
       insert into lk_outbox_delivered_through (channel, seq)
       select m.channel, m.lowest from latest m
       where m.lowest > coalesce(m.seq, 0)
         and (m.since is null or m.since <= now() - interval '1 minute')),`;
  // Past its channel's lowest cursor; past the lowest of all as well, a bound the index scan uses.
  const pastLowest = deleteDelivered ? "" : `and o.seq > (select min(seq) from lowest)
       and o.seq > (select l.seq from lowest l where l.channel = o.channel)`;
  const [row] = await tx.query<{ n: number }>(
    `with ${lowest}
     done as (
     ${deleteDelivered ? "delete from lk_outbox o" : "update lk_outbox o set delivered_at = now()"}
     where o.delivered_at is null
       and o.seq > $2 ${pastLowest}
       and o.seq <= greatest(
         (select last_seq from lk_outbox_cursors where sink = $1),
         (select max(seq) from lk_outbox_settled where sink = $1))
       and not exists (select 1 from lk_outbox_dead_letters d where d.seq = o.seq)
       and not exists (
         select 1 from lk_outbox_cursors c
         where c.last_seq < o.seq
           and (c.channels is null or c.channels ? o.channel)
           and coalesce((
             select s.outcome <> 'dead_letter' from lk_outbox_settled s
             where s.sink = c.sink and s.seq = o.seq), false) = false)
     returning 1)
     select count(*)::int as n from done`,
    [sink, from],
  );
  if (deleteDelivered && row.n > 0) deletedSinceVacuum.add(db);
};

/**
 * Deletes delivered events older than `olderThanMs` (never an undelivered one); returns how many:
 * those dated delivered before then, and those up to the lowest cursor of their channel recorded
 * before then (see markDelivered), with the records of it they no longer need. Under the lock a
 * sink seen for the first time takes (see knowSink), so no event is deleted that such a sink has
 * yet to take.
 *
 * The outbox is vacuumed after a prune that deleted rows, or after compactions did, since PGlite
 * has no autovacuum and the table would otherwise keep their space (and that of the row versions
 * dating them delivered) until its next upkeep.
 */
export const pruneOutbox = async (db: SqlClient, olderThanMs: number): Promise<number> => {
  const n = await db.transaction(async (tx) => {
    await lockDelivery(tx);
    const [row] = await tx.query<{ n: number }>(
      `with cutoff as (select now() - ($1::bigint * interval '1 millisecond') as at),
       through as (
         select channel, max(seq) as seq from lk_outbox_delivered_through
         where at <= (select at from cutoff) group by channel),
       dated as (
         delete from lk_outbox
         where delivered_at is not null and delivered_at <= (select at from cutoff)
         returning 1),
       passed as (
         delete from lk_outbox o using through t
         where o.channel = t.channel and o.delivered_at is null and o.seq <= t.seq
           and not exists (select 1 from lk_outbox_dead_letters d where d.seq = o.seq)
         returning 1),
       marks as (
         delete from lk_outbox_delivered_through m using through t
         where m.channel = t.channel and m.seq <= t.seq)
       select ((select count(*) from dated) + (select count(*) from passed))::int as n`,
      [Math.max(0, Math.floor(olderThanMs))],
    );
    return row.n;
  });
  if (n > 0 || deletedSinceVacuum.has(db)) {
    deletedSinceVacuum.delete(db);
    await db.exec("vacuum lk_outbox");
  }
  return n;
};

/**
 * Whether the store knows `sink`. Events a sink it knows has not had are never dated delivered
 * nor deleted (see markDelivered), so only undelivered events (a partial index) can be pending
 * for it.
 */
const knows = async (db: SqlExecutor, sink: string): Promise<boolean> =>
  (await db.query("select 1 from lk_outbox_cursors where sink = $1", [sink])).length > 0;

/** The events of `$2`'s channels the sink (`$1`) has not settled, up to its cursor too. */
const unsettledOf = (known: boolean) =>
  `${IN_CHANNELS} and ` + (known ? `o.delivered_at is null and ${UNSETTLED_PER_ROW}` : UNSETTLED);

const makeDeliveryLog = (
  db: SqlClient,
  horizonMs: number,
  deleteDelivered: boolean,
): DeliveryLogShape => ({
  pendingFor: (sink, channels, limit, after = 0) =>
    storeOp("outbox.pendingFor", async () => {
      const known = await knows(db, sink);
      // A page in seq order from an index, ending at its limit (see _index_order.ts).
      const rows = await queryInIndexOrder<RawRow>(
        db,
        `select o.seq, o.channel, o.run_id, o.job_id, o.payload from lk_outbox o
         where ${unsettledOf(known)} and o.seq > greatest(${CURSOR}, $4::bigint)
         order by o.seq limit $3`,
        [sink, JSON.stringify(channels), limit, after],
      );
      return rows.map(toRow);
    }),
  quiet: (sink, channels) =>
    storeOp("outbox.quiet", async () => {
      const known = await knows(db, sink);
      // From indexes, as a page is read (see _index_order.ts): the first pending event, if any.
      const [r] = await queryInIndexOrder<{ quiet: boolean }>(
        db,
        `select not exists (select 1 from lk_outbox_settled s where s.sink = $1)
           and not exists (
             select 1 from lk_outbox o where o.seq > ${CURSOR} and ${unsettledOf(known)})
           as quiet`,
        [sink, JSON.stringify(channels)],
      );
      return r.quiet;
    }),
  settle: (sink, record) =>
    storeOp("outbox.settle", async () => {
      await db.transaction((tx) => writeSettled(tx, sink, record));
    }),
  counts: (sink, channels, upTo) =>
    storeOp("outbox.counts", async () => {
      const known = await knows(db, sink);
      // Up to `upTo`: one event more than that says there is more.
      const limit = upTo === undefined ? "" : `limit ${Math.max(0, Math.floor(upTo)) + 1}`;
      // Read from indexes as a page is (see _index_order.ts).
      const [r] = await queryInIndexOrder<{ pending: number; dead: number }>(
        db,
        `select
           (select count(*)::int from (
              select 1 from lk_outbox o
              where o.seq > ${CURSOR} and ${unsettledOf(known)} ${limit}) p) as pending,
           (select count(*)::int from lk_outbox_dead_letters where sink = $1) as dead`,
        [sink, JSON.stringify(channels)],
      );
      return upTo !== undefined && r.pending > upTo
        ? { pending: Math.floor(upTo), pendingAtLeast: true, deadLettered: r.dead }
        : { pending: r.pending, deadLettered: r.dead };
    }),
  claim: (sink, holder, ttlMs) =>
    storeOp("outbox.claim", () => claimLease(db, `outbox:${sink}`, holder, ttlMs)),
  release: (sink, holder) =>
    storeOp("outbox.release", () => releaseLease(db, `outbox:${sink}`, holder)),
  know: (sinks) =>
    storeOp("outbox.know", async () => {
      await db.transaction(async (tx) => {
        await readInIndexOrder(tx);
        for (const sink of sinks) await knowSinkTaking(tx, sink.name, sink.channels);
      });
    }),
  compact: (sink, channels, settledThrough = 0) =>
    storeOp("outbox.compact", async () => {
      await db.transaction(async (tx) => {
        // Each step reads only what the sink handled since its last compaction, from indexes.
        await readInIndexOrder(tx);
        // A sink becomes known on its first round, even one that could deliver nothing yet.
        const before = await knowSinkTaking(tx, sink, channels);
        // The cursor may move over every event before the sink's first unsettled one, as far as
        // the newest event older than the horizon; events of other channels never block it. An
        // event the sink has not settled is undelivered (see knowSink and takeChannels), so the
        // first one is found among those.
        await tx.query(
          `with first_open as (
             select o.seq from lk_outbox o
             where o.delivered_at is null and o.seq > greatest($3, $5::bigint)
               and ${IN_CHANNELS} and ${UNSETTLED_PER_ROW}
             order by o.seq limit 1),
           target as (
             select o.seq from lk_outbox o
             where o.seq > $3
               and o.seq < coalesce((select seq from first_open), 9223372036854775807)
               and o.created_at < now() - ($4::int * interval '1 millisecond')
             order by o.seq desc limit 1)
           update lk_outbox_cursors c set last_seq = t.seq, updated_at = now()
           from target t where c.sink = $1 and t.seq > c.last_seq`,
          [sink, JSON.stringify(channels), before, horizonMs, settledThrough],
        );
        // Then what the sink settled and what its cursor moved over (after the move: the move
        // looks for the newest event below the first unsettled one, which must still be there).
        await markDelivered(db, tx, sink, before, deleteDelivered);
        await tx.query(
          `delete from lk_outbox_settled
           where sink = $1 and seq <= ${CURSOR}`,
          [sink],
        );
      });
    }),
});

/** The relay's view of the outbox, with per-event delivery records. */
export const makeSqlOutboxStore = (
  db: SqlClient,
  { horizonMs = 300_000, deleteDelivered = false }: SqlOutboxOptions = {},
): OutboxStoreShape & DeliveryLogShape => ({
  ...makeDeliveryLog(db, horizonMs, deleteDelivered),
  pending: (sink, limit) =>
    storeOp("outbox.pending", async () => {
      const rows = await db.query<RawRow>(
        `select o.seq, o.channel, o.run_id, o.job_id, o.payload from lk_outbox o
         where o.seq > ${CURSOR} and ${UNSETTLED}
         order by o.seq limit $2`,
        [sink, limit],
      );
      return rows.map(toRow);
    }),
  acknowledge: (sink, seq, count) =>
    storeOp("outbox.acknowledge", async () => {
      await db.transaction(async (tx) => {
        await readInIndexOrder(tx);
        const before = await knowSink(tx, sink);
        await tx.query(
          `insert into lk_outbox_cursors (sink, last_seq, delivered) values ($1, $2, $3)
           on conflict (sink) do update set last_seq = greatest(lk_outbox_cursors.last_seq, $2),
             delivered = lk_outbox_cursors.delivered + $3, updated_at = now()`,
          [sink, seq, count],
        );
        await markDelivered(db, tx, sink, before, deleteDelivered);
        await tx.query("delete from lk_outbox_settled where sink = $1 and seq <= $2", [sink, seq]);
      });
    }),
  backlog: (sink) =>
    storeOp("outbox.backlog", async () => {
      const [r] = await db.query<{ n: number }>(
        `select count(*)::int as n from lk_outbox o where o.seq > ${CURSOR} and ${UNSETTLED}`,
        [sink],
      );
      return r.n;
    }),
  prune: (olderThanMs) => storeOp("outbox.prune", () => pruneOutbox(db, olderThanMs)),
  totals: () =>
    storeOp("outbox.totals", async () => {
      const rows = await db.query<{ channel: OutboxChannel; n: number }>(
        "select channel, count(*)::int as n from lk_outbox group by channel",
      );
      const totals = { openlineage: 0, cloudevents: 0 };
      for (const r of rows) totals[r.channel] = r.n;
      return totals;
    }),
});
