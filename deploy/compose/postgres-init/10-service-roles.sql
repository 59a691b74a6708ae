-- Run once by the official postgres image (/docker-entrypoint-initdb.d) on an empty data directory, as the
-- superuser, connected to $POSTGRES_DB (headwater). One login role per service, owning only its own schema;
-- passwords come from the postgres container's environment (psql's \getenv fails loudly when one is unset).
-- Keep in step with libs/devstack (the embedded mode provisions the same roles and schemas).
--
-- Idempotent, so that a volume created before a service existed can be brought up to date by running it again
-- (an existing role keeps its password):
--   docker compose up -d postgres
--   docker compose exec -T postgres psql -v ON_ERROR_STOP=1 -U postgres -d headwater \
--     -f /docker-entrypoint-initdb.d/10-service-roles.sql

\set ON_ERROR_STOP on

-- Nobody but the owners creates anything: no objects in schema public, no new schemas, no temporary tables.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE CREATE, TEMPORARY ON DATABASE headwater FROM PUBLIC;

-- execution-tracking -------------------------------------------------------------------------------------------
\getenv execution_tracking_password HEADWATER_EXECUTION_TRACKING_DB_PASSWORD
\if :{?execution_tracking_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'HEADWATER_EXECUTION_TRACKING_DB_PASSWORD is not set'; END $$;
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'execution_tracking') AS execution_tracking_missing \gset
\if :execution_tracking_missing
  CREATE ROLE execution_tracking LOGIN PASSWORD :'execution_tracking_password';
\endif
GRANT CONNECT ON DATABASE headwater TO execution_tracking;
CREATE SCHEMA IF NOT EXISTS execution_tracking AUTHORIZATION execution_tracking;
REVOKE ALL ON SCHEMA execution_tracking FROM PUBLIC;
ALTER ROLE execution_tracking SET search_path = execution_tracking;

-- quality-alerting ---------------------------------------------------------------------------------------------
\getenv quality_alerting_password HEADWATER_QUALITY_ALERTING_DB_PASSWORD
\if :{?quality_alerting_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'HEADWATER_QUALITY_ALERTING_DB_PASSWORD is not set'; END $$;
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'quality_alerting') AS quality_alerting_missing \gset
\if :quality_alerting_missing
  CREATE ROLE quality_alerting LOGIN PASSWORD :'quality_alerting_password';
\endif
GRANT CONNECT ON DATABASE headwater TO quality_alerting;
CREATE SCHEMA IF NOT EXISTS quality_alerting AUTHORIZATION quality_alerting;
REVOKE ALL ON SCHEMA quality_alerting FROM PUBLIC;
ALTER ROLE quality_alerting SET search_path = quality_alerting;

-- scheduler ----------------------------------------------------------------------------------------------------
\getenv scheduler_password HEADWATER_SCHEDULER_DB_PASSWORD
\if :{?scheduler_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'HEADWATER_SCHEDULER_DB_PASSWORD is not set'; END $$;
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'scheduler') AS scheduler_missing \gset
\if :scheduler_missing
  CREATE ROLE scheduler LOGIN PASSWORD :'scheduler_password';
\endif
GRANT CONNECT ON DATABASE headwater TO scheduler;
CREATE SCHEMA IF NOT EXISTS scheduler AUTHORIZATION scheduler;
REVOKE ALL ON SCHEMA scheduler FROM PUBLIC;
ALTER ROLE scheduler SET search_path = scheduler;

-- ingestion ----------------------------------------------------------------------------------------------------
\getenv ingestion_password HEADWATER_INGESTION_DB_PASSWORD
\if :{?ingestion_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'HEADWATER_INGESTION_DB_PASSWORD is not set'; END $$;
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ingestion') AS ingestion_missing \gset
\if :ingestion_missing
  CREATE ROLE ingestion LOGIN PASSWORD :'ingestion_password';
\endif
GRANT CONNECT ON DATABASE headwater TO ingestion;
CREATE SCHEMA IF NOT EXISTS ingestion AUTHORIZATION ingestion;
REVOKE ALL ON SCHEMA ingestion FROM PUBLIC;
ALTER ROLE ingestion SET search_path = ingestion;
-- The warehouse: the database destinations load into by default, owned by the ingestion role.
SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'warehouse') AS warehouse_missing \gset
\if :warehouse_missing
  CREATE DATABASE warehouse OWNER ingestion;
\endif
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;

-- gateway ------------------------------------------------------------------------------------------------------
\getenv gateway_password HEADWATER_GATEWAY_DB_PASSWORD
\if :{?gateway_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'HEADWATER_GATEWAY_DB_PASSWORD is not set'; END $$;
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gateway') AS gateway_missing \gset
\if :gateway_missing
  CREATE ROLE gateway LOGIN PASSWORD :'gateway_password';
\endif
GRANT CONNECT ON DATABASE headwater TO gateway;
CREATE SCHEMA IF NOT EXISTS gateway AUTHORIZATION gateway;
REVOKE ALL ON SCHEMA gateway FROM PUBLIC;
ALTER ROLE gateway SET search_path = gateway;
