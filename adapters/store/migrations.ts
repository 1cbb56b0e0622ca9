/**
 * The store's schema, as ordered migrations. Each runs once, in its own transaction, and is
 * recorded in `lk_migrations`. The same SQL runs on PGlite and on a PostgreSQL server; the
 * embedded vector index is only created where pgvector exists.
 *
 * @module
 */
import type { SqlClient } from "./sql_client.ts";

/** One schema change. */
export interface Migration {
  /** The migration's number; migrations run in ascending order. */
  readonly version: number;
  /** A short description, recorded in `lk_migrations`. */
  readonly name: string;
  /** Only where pgvector exists (true) or only where it does not (false). */
  readonly needsVector?: boolean;
  /** The statements it runs. */
  readonly sql: string;
}

/** The embedded embedding width; the hashing embedder's default. */
export const EMBEDDING_DIMENSIONS = 256;

/** The hybrid index table: text for full-text ranking, the vector as pgvector or `real[]`. */
const chunksTable = (embeddingType: string): string => `
      create table lk_chunks (
        chunk_id text primary key,
        doc_id text not null,
        tenant_id text not null,
        section_id text not null,
        body text not null,
        start_offset integer not null,
        end_offset integer not null,
        metadata jsonb not null default '{}'::jsonb,
        embedder text not null,
        embedding ${embeddingType} not null,
        tsv tsvector generated always as (to_tsvector('english', body)) stored,
        updated_at timestamptz not null default now()
      );
      create index lk_chunks_doc on lk_chunks (doc_id);
      create index lk_chunks_tsv on lk_chunks using gin (tsv);`;

/** Every migration, oldest first. Never edit a shipped one: add a new one. */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "ledger",
    sql: `
      create table lk_jobs (
        job_id text primary key,
        tenant_id text not null,
        doc_key text not null,
        source text not null,
        pipeline text not null,
        pipeline_version text not null,
        request jsonb not null,
        status text not null check (status in
          ('queued','running','paused','succeeded','failed','cancelled')),
        current_stage text,
        pdf_downloaded boolean not null default false,
        pdf_ir_ready boolean not null default false,
        run_number integer not null default 0,
        run_created_at timestamptz,
        correlation_id text not null,
        attempts jsonb not null default '{}'::jsonb,
        retries jsonb not null default '{}'::jsonb,
        error jsonb,
        lease_owner text,
        lease_expires_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        finished_at timestamptz,
        unique (tenant_id, doc_key)
      );
      create index lk_jobs_status on lk_jobs (status);
      create table lk_job_history (
        id bigserial primary key,
        job_id text not null references lk_jobs (job_id) on delete cascade,
        run_number integer not null,
        at timestamptz not null default now(),
        from_status text,
        to_status text not null,
        stage text,
        reason text not null
      );
      create index lk_job_history_job on lk_job_history (job_id, id);
      create table lk_checkpoints (
        job_id text not null references lk_jobs (job_id) on delete cascade,
        stage text not null,
        run_number integer not null,
        output jsonb not null,
        created_at timestamptz not null default now(),
        primary key (job_id, stage)
      );`,
  },
  {
    version: 2,
    name: "outbox",
    sql: `
      create table lk_outbox (
        seq bigserial primary key,
        channel text not null check (channel in ('openlineage','cloudevents')),
        run_id text not null,
        job_id text,
        payload jsonb not null,
        created_at timestamptz not null default now()
      );
      create table lk_outbox_cursors (
        sink text primary key,
        last_seq bigint not null default 0,
        delivered bigint not null default 0,
        updated_at timestamptz not null default now()
      );`,
  },
  {
    version: 3,
    name: "knowledge graph",
    sql: `
      create table lk_kg_nodes (
        node_id text primary key,
        label text not null,
        name text not null,
        properties jsonb not null default '{}'::jsonb,
        updated_at timestamptz not null default now()
      );
      create table lk_kg_edges (
        edge_id text not null,
        source_id text not null references lk_kg_nodes (node_id),
        target_id text not null references lk_kg_nodes (node_id),
        predicate text not null,
        doc_id text not null,
        properties jsonb not null default '{}'::jsonb,
        updated_at timestamptz not null default now(),
        -- One edge per relation and evidence document: two documents stating the same relation
        -- are two pieces of evidence.
        primary key (edge_id, doc_id)
      );
      create index lk_kg_edges_doc on lk_kg_edges (doc_id);`,
  },
  {
    version: 4,
    name: "embedded hybrid index",
    needsVector: true,
    sql: chunksTable(`vector(${EMBEDDING_DIMENSIONS})`),
  },
  {
    version: 5,
    name: "server hybrid index (no pgvector)",
    needsVector: false,
    // A PostgreSQL server without pgvector keeps vectors as real[] and ranks them by an exact
    // cosine scan; the search output says so. Production dense search belongs in OpenSearch.
    sql: `${chunksTable("real[]")}
      create function lk_cosine_distance(a real[], b real[]) returns double precision
        language sql immutable parallel safe as $$
          select 1 - coalesce(sum(x * y) / nullif(sqrt(sum(x * x)) * sqrt(sum(y * y)), 0), 0)
          from unnest(a, b) as t(x, y)
        $$;`,
  },
  {
    version: 6,
    name: "gates and artifacts",
    sql: `
      alter table lk_jobs add column paused_at timestamptz;
      alter table lk_jobs add column pdf jsonb;
      create index lk_jobs_paused on lk_jobs (paused_at) where status = 'paused';
      -- Documents made outside the runner (the MinerU bridge) that a gate hands to the stages
      -- after it.
      create table lk_artifacts (
        job_id text not null references lk_jobs (job_id) on delete cascade,
        name text not null,
        payload jsonb not null,
        created_at timestamptz not null default now(),
        primary key (job_id, name)
      );`,
  },
  {
    version: 7,
    name: "outbox delivery records",
    sql: `
      -- What each sink took (or refused for good), so nothing is sent to it twice.
      create table if not exists lk_outbox_settled (
        sink text not null,
        seq bigint not null,
        outcome text not null check (outcome in ('delivered','dead_letter','skipped')),
        primary key (sink, seq)
      );
      create table if not exists lk_outbox_dead_letters (
        sink text not null,
        seq bigint not null,
        run_id text not null,
        job_id text,
        status integer,
        reason text not null,
        at timestamptz not null default now(),
        primary key (sink, seq)
      );`,
  },
  {
    version: 8,
    name: "run segments",
    sql: `
      -- How many times the current run was resumed after a pause: each part of a run between
      -- pauses (a segment) gets its own stage run ids, so an attempt cut off by a pause and
      -- started again is a new OpenLineage run.
      alter table lk_jobs add column if not exists resumes integer not null default 0;`,
  },
  {
    version: 9,
    name: "leases",
    sql: `
      -- Work one process at a time may do (deliver to a sink, send a job's PDF to MinerU): the
      -- holder renews its lease while it works; a lease left by a dead process expires.
      create table if not exists lk_leases (
        name text primary key,
        holder text not null,
        expires_at timestamptz not null
      );
      -- The lease of the process running a job: past its expiry, another process may take over.
      alter table lk_jobs add column if not exists lease_owner text;
      alter table lk_jobs add column if not exists lease_expires_at timestamptz;`,
  },
  {
    version: 10,
    name: "embeddings of any length",
    needsVector: true,
    // Any embedder (a vLLM model's 1024 dimensions, the hashing embedder's 256) writes into the
    // same table; dense search compares only vectors of the query's length and model.
    sql: `alter table lk_chunks alter column embedding type vector;`,
  },
  {
    version: 11,
    name: "tenant in every key",
    // Two tenants processing the same document never touch each other's chunks, nodes or edges.
    // Graph rows written before carry the `default` tenant.
    sql: `
      alter table lk_chunks drop constraint lk_chunks_pkey;
      alter table lk_chunks add primary key (tenant_id, chunk_id);
      drop index if exists lk_chunks_doc;
      create index lk_chunks_doc on lk_chunks (tenant_id, doc_id);
      alter table lk_kg_edges drop constraint lk_kg_edges_source_id_fkey;
      alter table lk_kg_edges drop constraint lk_kg_edges_target_id_fkey;
      alter table lk_kg_nodes add column tenant_id text not null default 'default';
      alter table lk_kg_edges add column tenant_id text not null default 'default';
      alter table lk_kg_nodes drop constraint lk_kg_nodes_pkey;
      alter table lk_kg_nodes add primary key (tenant_id, node_id);
      alter table lk_kg_edges drop constraint lk_kg_edges_pkey;
      alter table lk_kg_edges add primary key (tenant_id, edge_id, doc_id);
      alter table lk_kg_edges add foreign key (tenant_id, source_id)
        references lk_kg_nodes (tenant_id, node_id);
      alter table lk_kg_edges add foreign key (tenant_id, target_id)
        references lk_kg_nodes (tenant_id, node_id);
      drop index if exists lk_kg_edges_doc;
      create index lk_kg_edges_doc on lk_kg_edges (tenant_id, doc_id);`,
  },
  {
    version: 12,
    name: "outbox retention",
    // `delivered_at`: when every sink the store knows that takes the event's channel had it
    // (delivered or skipped; a dead-lettered event stays undelivered). A sink's channels are
    // recorded with its cursor. The partial index keeps the relay's scan for
    // undelivered events proportional to them, not to the outbox; the other one lets retention
    // find delivered events by age.
    sql: `
      alter table lk_outbox add column if not exists delivered_at timestamptz;
      alter table lk_outbox_cursors add column if not exists channels jsonb;
      create index if not exists lk_outbox_undelivered on lk_outbox (seq)
        where delivered_at is null;
      create index if not exists lk_outbox_delivered on lk_outbox (delivered_at)
        where delivered_at is not null;`,
  },
  {
    version: 13,
    name: "lineage destinations of a job",
    // Where the job's lineage goes (`--lineage`) and its CloudEvents (`--events`), as the run
    // that started it was told: every process that later works on the job (the MinerU bridge,
    // the sensor, resume, a worker) delivers there. Null: that process's own default.
    sql: `
      alter table lk_jobs add column if not exists lineage_target text;
      alter table lk_jobs add column if not exists events_target text;`,
  },
  {
    version: 14,
    name: "jobs in enqueue order",
    // Jobs are taken oldest first, and `created_at` cannot tell apart the jobs of one enqueue
    // batch (one transaction, one now()), nor, on the embedded database, whose clock counts
    // milliseconds, those enqueued within one millisecond: they were taken in job-id order. The
    // number each job gets when it is inserted (in the batch's order) breaks those ties.
    sql: `alter table lk_jobs add column if not exists enqueue_seq bigserial;`,
  },
  {
    version: 15,
    name: "events and checkpoints kept as written",
    // The bulk of what a stage writes is JSON the kit made (JSON.stringify) and only ever reads
    // back whole: its events and its checkpoint. As jsonb, every byte was parsed into a tree
    // (numbers into numerics) and printed again on the way out. As text it is kept as written;
    // SQL that looks inside casts it (\`payload::json->>'eventType'\`).
    sql: `
      alter table lk_outbox alter column payload type text using payload::text;
      alter table lk_checkpoints alter column output type text using output::text;`,
  },
  {
    version: 16,
    name: "lighter stage writes",
    // Measured on the stage writes of many jobs at once (`deno task bench`):
    // - An event over 2 KB (an OpenLineage START with its job facets) was compressed with pglz on
    //   every insert: the largest single cost inside the database. Kept as written up to a page,
    //   it costs more bytes, only until retention prunes it.
    // - Every checkpoint and history row fired a foreign-key check (a query of its own) on the
    //   job it belongs to, which the statement writing it has just locked: the kit writes both
    //   only for a job its run owns, and never deletes jobs.
    // - Half-full pages of jobs let a stage's update of its job row (its stage, attempts,
    //   retries: no indexed column) stay on its page, without a new entry in every index.
    sql: `
      alter table lk_outbox set (toast_tuple_target = 8160);
      alter table lk_checkpoints drop constraint if exists lk_checkpoints_job_id_fkey;
      alter table lk_job_history drop constraint if exists lk_job_history_job_id_fkey;
      alter table lk_jobs set (fillfactor = 50);`,
  },
  {
    version: 17,
    name: "runnable jobs in order",
    // A worker asks for the oldest runnable jobs each time a slot frees: without an index in
    // that order, each ask read every queued job and sorted them (3 ms a time with 3,000 queued
    // on a server, once per job run). Ended jobs leave the index.
    sql: `
      create index if not exists lk_jobs_runnable on lk_jobs (created_at, enqueue_seq)
        where status in ('queued', 'running');`,
  },
  {
    version: 18,
    name: "outbox delivered through",
    // Every event of `channel` up to `seq` was handled by every sink the store knew that takes
    // the channel, as of `at`: the lowest cursor of those sinks, recorded as it moves (a record
    // made at `since` moves up with it for a minute, then a new one is made). The events below
    // it are delivered without a date of their own (see markDelivered in sql_outbox.ts): dating
    // each one wrote a new copy of its row, payload and all. A sink seen for the first time
    // removes these records, and one that starts taking a channel those past its cursor.
    sql: `
      create table if not exists lk_outbox_delivered_through (
        channel text not null,
        seq bigint not null,
        at timestamptz not null default now(),
        since timestamptz not null default now(),
        primary key (channel, seq)
      );`,
  },
];

const wanted = (client: SqlClient): ReadonlyArray<Migration> =>
  migrations.filter((m) => m.needsVector === undefined || m.needsVector === client.hasVector);

/** Whether every migration this database needs is recorded, read without taking the lock. */
const upToDate = async (client: SqlClient): Promise<boolean> => {
  const [{ exists }] = await client.query<{ exists: boolean }>(
    "select to_regclass('lk_migrations') is not null as exists",
  );
  if (!exists) return false;
  const done = new Set(
    (await client.query<{ version: number }>("select version from lk_migrations")).map((r) =>
      r.version
    ),
  );
  return wanted(client).every((m) => done.has(m.version));
};

/**
 * Applies the migrations not yet recorded, in order. Returns the versions it applied. A schema
 * already current costs two reads and no lock, so opening a store stays cheap.
 */
export const migrate = async (client: SqlClient): Promise<number[]> =>
  await upToDate(client) ? [] : applyMissing(client);

const applyMissing = (client: SqlClient): Promise<number[]> =>
  // One transaction under an advisory lock: processes starting together on one server take
  // turns, and the second finds the first's migrations done.
  client.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.exec(`create table if not exists lk_migrations (
      version integer primary key, name text not null,
      applied_at timestamptz not null default now())`);
    const done = new Set(
      (await tx.query<{ version: number }>("select version from lk_migrations")).map((r) =>
        r.version
      ),
    );
    const applied: number[] = [];
    for (const m of wanted(client)) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query("insert into lk_migrations (version, name) values ($1, $2)", [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    return applied;
  });

/** The advisory lock key schema changes take (any constant the kit alone uses). */
export const MIGRATION_LOCK = 0x6c6b_6d69; // "lkmi"
