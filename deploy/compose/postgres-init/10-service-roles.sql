-- Run once by the official postgres image (/docker-entrypoint-initdb.d) on an empty data directory, as the
-- superuser, connected to $POSTGRES_DB (headwater). One login role per service, owning only its own schema;
-- passwords come from the postgres container's environment (psql's \getenv fails loudly when one is unset).
-- Keep in step with libs/devstack (the embedded mode provisions the same roles and schemas).

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
CREATE ROLE execution_tracking LOGIN PASSWORD :'execution_tracking_password';
GRANT CONNECT ON DATABASE headwater TO execution_tracking;
CREATE SCHEMA execution_tracking AUTHORIZATION execution_tracking;
REVOKE ALL ON SCHEMA execution_tracking FROM PUBLIC;
ALTER ROLE execution_tracking SET search_path = execution_tracking;
