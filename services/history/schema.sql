-- The schema history's migrations make, as `pg_dump --schema-only --no-owner --no-privileges`
-- prints it, without the dump's version lines and settings and without the day partitions of
-- jobs and job_events (their names hold the day the migrations ran; see test/schema-dump.ts).
-- Generated: do not edit. `pnpm --filter @taskflow/history schema:dump` writes it again, and
-- src/db/schema.test.ts fails while it differs from what the migrations make.

--
-- Name: taskflow_drop_day_partitions(date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.taskflow_drop_day_partitions(day date) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO '$user', 'public'
    AS $$
DECLARE
    suffix text := to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(format('jobs_p%s', suffix)) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I', format('job_events_p%s', suffix));
    EXECUTE format('DROP TABLE %I', format('jobs_p%s', suffix));
    RETURN true;
END
$$;


--
-- Name: taskflow_ensure_partitions(date, date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.taskflow_ensure_partitions(first_day date, last_day date) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO '$user', 'public'
    AS $$
DECLARE
    d date;
    lo uuid;
    hi uuid;
    created int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(8389772432466531);
    FOR d IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
        CONTINUE WHEN to_regclass(format('jobs_p%s', to_char(d, 'YYYYMMDD'))) IS NOT NULL;
        lo := taskflow_uuid_floor(d::timestamp AT TIME ZONE 'UTC');
        hi := taskflow_uuid_floor((d + 1)::timestamp AT TIME ZONE 'UTC');
        IF EXISTS (SELECT 1 FROM jobs_default WHERE id >= lo AND id < hi)
           OR EXISTS (SELECT 1 FROM job_events_default WHERE job_id >= lo AND job_id < hi) THEN
            RAISE WARNING 'taskflow: rows of % are in a default partition; day partition not created', d;
            CONTINUE;
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF jobs FOR VALUES FROM (%L) TO (%L)',
                       format('jobs_p%s', to_char(d, 'YYYYMMDD')), lo, hi);
        EXECUTE format('CREATE TABLE %I PARTITION OF job_events FOR VALUES FROM (%L) TO (%L)',
                       format('job_events_p%s', to_char(d, 'YYYYMMDD')), lo, hi);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;


--
-- Name: taskflow_search_vector(jsonb, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.taskflow_search_vector(searchable jsonb, error text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT jsonb_to_tsvector('simple'::regconfig, searchable, '["string", "numeric"]'::jsonb)
         || setweight(to_tsvector('simple'::regconfig, coalesce(error, '')), 'A')
$$;


--
-- Name: taskflow_search_with_error(tsvector, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.taskflow_search_with_error(search tsvector, error text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT ts_filter(coalesce(search, ''::tsvector), '{d}')
         || setweight(to_tsvector('simple'::regconfig, coalesce(error, '')), 'A')
$$;


--
-- Name: taskflow_uuid_floor(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.taskflow_uuid_floor(ts timestamp with time zone) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0')
          || '00000000000000000000')::uuid
$$;


--
-- Name: taskflow_uuid_time(uuid); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.taskflow_uuid_time(id uuid) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
  SELECT to_timestamp(('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint / 1000.0)
$$;


--
-- Name: idempotency_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency_keys (
    key text NOT NULL,
    job_id uuid NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    request_digest text
);


--
-- Name: job_dependencies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_dependencies (
    child_id uuid NOT NULL,
    parent_id uuid NOT NULL,
    on_parent_failure text DEFAULT 'fail'::text NOT NULL,
    CONSTRAINT job_dependencies_check CHECK ((child_id <> parent_id)),
    CONSTRAINT job_dependencies_on_parent_failure_check CHECK ((on_parent_failure = ANY (ARRAY['fail'::text, 'cancel'::text, 'run'::text])))
);


--
-- Name: job_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_events (
    job_id uuid NOT NULL,
    seq integer NOT NULL,
    type text NOT NULL,
    status text NOT NULL,
    attempt integer DEFAULT 0 NOT NULL,
    worker_id text,
    error text,
    actor text NOT NULL,
    result jsonb,
    details jsonb,
    occurred_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    lease_id text,
    reason text,
    CONSTRAINT job_events_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'completed'::text, 'failed'::text, 'cancelled'::text])))
)
PARTITION BY RANGE (job_id);


--
-- Name: job_events_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_events_default (
    job_id uuid NOT NULL,
    seq integer NOT NULL,
    type text NOT NULL,
    status text NOT NULL,
    attempt integer DEFAULT 0 NOT NULL,
    worker_id text,
    error text,
    actor text NOT NULL,
    result jsonb,
    details jsonb,
    occurred_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    lease_id text,
    reason text,
    CONSTRAINT job_events_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'completed'::text, 'failed'::text, 'cancelled'::text])))
);


--
-- Name: jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.jobs (
    id uuid NOT NULL,
    type text NOT NULL,
    queue text DEFAULT 'default'::text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL,
    result jsonb,
    error text,
    error_seq integer,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 3 NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    timeout_ms integer,
    idempotency_key text,
    last_seq integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    scheduled_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    worker_id text,
    search tsvector,
    schedule_id text,
    progress_percent double precision,
    progress_details jsonb,
    progress_at timestamp with time zone,
    progress_attempt integer,
    CONSTRAINT jobs_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'completed'::text, 'failed'::text, 'cancelled'::text])))
)
PARTITION BY RANGE (id);


--
-- Name: jobs_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.jobs_default (
    id uuid NOT NULL,
    type text NOT NULL,
    queue text DEFAULT 'default'::text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL,
    result jsonb,
    error text,
    error_seq integer,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 3 NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    timeout_ms integer,
    idempotency_key text,
    last_seq integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    scheduled_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    worker_id text,
    search tsvector,
    schedule_id text,
    progress_percent double precision,
    progress_details jsonb,
    progress_at timestamp with time zone,
    progress_attempt integer,
    CONSTRAINT jobs_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'completed'::text, 'failed'::text, 'cancelled'::text])))
);


--
-- Name: operator_actions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operator_actions (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL
);


--
-- Name: operator_actions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.operator_actions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.operator_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: pgmigrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.pgmigrations (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    run_on timestamp without time zone NOT NULL
);


--
-- Name: pgmigrations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.pgmigrations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: pgmigrations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.pgmigrations_id_seq OWNED BY public.pgmigrations.id;


--
-- Name: schedule_versions; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.schedule_versions
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: schedules; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedules (
    id text NOT NULL,
    cron text,
    time_zone text DEFAULT 'UTC'::text NOT NULL,
    interval_ms bigint,
    job_type text NOT NULL,
    queue text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    max_attempts integer NOT NULL,
    timeout_ms integer,
    overlap_policy text NOT NULL,
    catch_up integer NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    next_run_at timestamp with time zone,
    last_run_at timestamp with time zone,
    last_job_id uuid,
    version bigint DEFAULT nextval('public.schedule_versions'::regclass) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text NOT NULL,
    updated_by text NOT NULL,
    CONSTRAINT schedules_catch_up_check CHECK ((catch_up >= 0)),
    CONSTRAINT schedules_check CHECK (((cron IS NULL) <> (interval_ms IS NULL))),
    CONSTRAINT schedules_overlap_policy_check CHECK ((overlap_policy = ANY (ARRAY['skip'::text, 'allow'::text, 'cancel_previous'::text])))
);


--
-- Name: table_size_samples; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.table_size_samples (
    relation text NOT NULL,
    sampled_hour timestamp with time zone NOT NULL,
    sampled_at timestamp with time zone NOT NULL,
    total_bytes bigint NOT NULL
);


--
-- Name: worker_outcome_counts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.worker_outcome_counts (
    worker_id text NOT NULL,
    stripe smallint NOT NULL,
    completed bigint DEFAULT 0 NOT NULL,
    failed bigint DEFAULT 0 NOT NULL
);


--
-- Name: workers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.workers (
    id text NOT NULL,
    status text NOT NULL,
    last_seen timestamp with time zone NOT NULL,
    job_types jsonb NOT NULL,
    current_job text,
    metadata jsonb,
    queues jsonb DEFAULT '[]'::jsonb NOT NULL,
    concurrency integer DEFAULT 0 NOT NULL,
    hostname text DEFAULT ''::text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    current_jobs jsonb DEFAULT '[]'::jsonb NOT NULL,
    CONSTRAINT workers_status_check CHECK ((status = ANY (ARRAY['healthy'::text, 'gone'::text])))
);


--
-- Name: job_events_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events ATTACH PARTITION public.job_events_default DEFAULT;


--
-- Name: jobs_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs ATTACH PARTITION public.jobs_default DEFAULT;


--
-- Name: pgmigrations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pgmigrations ALTER COLUMN id SET DEFAULT nextval('public.pgmigrations_id_seq'::regclass);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key);


--
-- Name: job_dependencies job_dependencies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_dependencies
    ADD CONSTRAINT job_dependencies_pkey PRIMARY KEY (child_id, parent_id);


--
-- Name: job_events job_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_pkey PRIMARY KEY (job_id, seq);


--
-- Name: job_events_default job_events_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events_default
    ADD CONSTRAINT job_events_default_pkey PRIMARY KEY (job_id, seq);


--
-- Name: job_events job_events_type_check1; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.job_events
    ADD CONSTRAINT job_events_type_check1 CHECK ((type = ANY (ARRAY['submitted'::text, 'started'::text, 'completed'::text, 'retry_scheduled'::text, 'failed'::text, 'lease_expired'::text, 'released'::text, 'cancelled'::text, 'retried'::text]))) NOT VALID;


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);


--
-- Name: jobs_default jobs_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs_default
    ADD CONSTRAINT jobs_default_pkey PRIMARY KEY (id);


--
-- Name: operator_actions operator_actions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_pkey PRIMARY KEY (id);


--
-- Name: pgmigrations pgmigrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pgmigrations
    ADD CONSTRAINT pgmigrations_pkey PRIMARY KEY (id);


--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (id);


--
-- Name: table_size_samples table_size_samples_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.table_size_samples
    ADD CONSTRAINT table_size_samples_pkey PRIMARY KEY (relation, sampled_hour);


--
-- Name: worker_outcome_counts worker_outcome_counts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.worker_outcome_counts
    ADD CONSTRAINT worker_outcome_counts_pkey PRIMARY KEY (worker_id, stripe);


--
-- Name: workers workers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workers
    ADD CONSTRAINT workers_pkey PRIMARY KEY (id);


--
-- Name: idx_idempotency_keys_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_idempotency_keys_expires_at ON public.idempotency_keys USING btree (expires_at);


--
-- Name: idx_job_dependencies_parent; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_job_dependencies_parent ON public.job_dependencies USING btree (parent_id, child_id);


--
-- Name: idx_job_events_errors; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_job_events_errors ON ONLY public.job_events USING btree (occurred_at) INCLUDE (error, job_id) WHERE ((type = ANY (ARRAY['retry_scheduled'::text, 'failed'::text, 'lease_expired'::text])) AND (error IS NOT NULL));


--
-- Name: idx_job_events_occurred_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_job_events_occurred_at ON ONLY public.job_events USING btree (occurred_at, job_id, seq);


--
-- Name: idx_jobs_completed_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_completed_at ON ONLY public.jobs USING btree (completed_at) INCLUDE (status, type, queue, scheduled_at, started_at) WHERE (completed_at IS NOT NULL);


--
-- Name: idx_jobs_failed_cancelled; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_failed_cancelled ON ONLY public.jobs USING btree (id, status) WHERE (status = ANY (ARRAY['failed'::text, 'cancelled'::text]));


--
-- Name: idx_jobs_payload_gin; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_payload_gin ON ONLY public.jobs USING gin (payload jsonb_path_ops);


--
-- Name: idx_jobs_queue; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_queue ON ONLY public.jobs USING btree (queue, id);


--
-- Name: idx_jobs_schedule; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_schedule ON ONLY public.jobs USING btree (schedule_id, id) WHERE (schedule_id IS NOT NULL);


--
-- Name: idx_jobs_search; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_search ON ONLY public.jobs USING gin (search);


--
-- Name: idx_jobs_type; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_type ON ONLY public.jobs USING btree (type, id);


--
-- Name: idx_jobs_unfinished_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_unfinished_id ON ONLY public.jobs USING btree (id) WHERE (status = ANY (ARRAY['pending'::text, 'processing'::text]));


--
-- Name: idx_jobs_worker; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_jobs_worker ON ONLY public.jobs USING btree (worker_id, id) WHERE (worker_id IS NOT NULL);


--
-- Name: idx_operator_actions_target; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_operator_actions_target ON public.operator_actions USING btree (target, id);


--
-- Name: idx_table_size_samples_sampled_hour; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_table_size_samples_sampled_hour ON public.table_size_samples USING btree (sampled_hour);


--
-- Name: idx_workers_last_seen; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_workers_last_seen ON public.workers USING btree (last_seen);


--
-- Name: idx_workers_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_workers_status ON public.workers USING btree (status);


--
-- Name: job_events_default_occurred_at_error_job_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX job_events_default_occurred_at_error_job_id_idx ON public.job_events_default USING btree (occurred_at) INCLUDE (error, job_id) WHERE ((type = ANY (ARRAY['retry_scheduled'::text, 'failed'::text, 'lease_expired'::text])) AND (error IS NOT NULL));


--
-- Name: job_events_default_occurred_at_job_id_seq_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX job_events_default_occurred_at_job_id_seq_idx ON public.job_events_default USING btree (occurred_at, job_id, seq);


--
-- Name: jobs_default_completed_at_status_type_queue_scheduled_at_st_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_completed_at_status_type_queue_scheduled_at_st_idx ON public.jobs_default USING btree (completed_at) INCLUDE (status, type, queue, scheduled_at, started_at) WHERE (completed_at IS NOT NULL);


--
-- Name: jobs_default_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_id_idx ON public.jobs_default USING btree (id) WHERE (status = ANY (ARRAY['pending'::text, 'processing'::text]));


--
-- Name: jobs_default_id_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_id_status_idx ON public.jobs_default USING btree (id, status) WHERE (status = ANY (ARRAY['failed'::text, 'cancelled'::text]));


--
-- Name: jobs_default_payload_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_payload_idx ON public.jobs_default USING gin (payload jsonb_path_ops);


--
-- Name: jobs_default_queue_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_queue_id_idx ON public.jobs_default USING btree (queue, id);


--
-- Name: jobs_default_schedule_id_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_schedule_id_id_idx ON public.jobs_default USING btree (schedule_id, id) WHERE (schedule_id IS NOT NULL);


--
-- Name: jobs_default_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_search_idx ON public.jobs_default USING gin (search);


--
-- Name: jobs_default_type_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_type_id_idx ON public.jobs_default USING btree (type, id);


--
-- Name: jobs_default_worker_id_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_default_worker_id_id_idx ON public.jobs_default USING btree (worker_id, id) WHERE (worker_id IS NOT NULL);


--
-- Name: job_events_default_occurred_at_error_job_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_job_events_errors ATTACH PARTITION public.job_events_default_occurred_at_error_job_id_idx;


--
-- Name: job_events_default_occurred_at_job_id_seq_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_job_events_occurred_at ATTACH PARTITION public.job_events_default_occurred_at_job_id_seq_idx;


--
-- Name: job_events_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.job_events_pkey ATTACH PARTITION public.job_events_default_pkey;


--
-- Name: jobs_default_completed_at_status_type_queue_scheduled_at_st_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_completed_at ATTACH PARTITION public.jobs_default_completed_at_status_type_queue_scheduled_at_st_idx;


--
-- Name: jobs_default_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_unfinished_id ATTACH PARTITION public.jobs_default_id_idx;


--
-- Name: jobs_default_id_status_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_failed_cancelled ATTACH PARTITION public.jobs_default_id_status_idx;


--
-- Name: jobs_default_payload_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_payload_gin ATTACH PARTITION public.jobs_default_payload_idx;


--
-- Name: jobs_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.jobs_pkey ATTACH PARTITION public.jobs_default_pkey;


--
-- Name: jobs_default_queue_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_queue ATTACH PARTITION public.jobs_default_queue_id_idx;


--
-- Name: jobs_default_schedule_id_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_schedule ATTACH PARTITION public.jobs_default_schedule_id_id_idx;


--
-- Name: jobs_default_search_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_search ATTACH PARTITION public.jobs_default_search_idx;


--
-- Name: jobs_default_type_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_type ATTACH PARTITION public.jobs_default_type_id_idx;


--
-- Name: jobs_default_worker_id_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_jobs_worker ATTACH PARTITION public.jobs_default_worker_id_id_idx;
