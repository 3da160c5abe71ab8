-- imgfleet: run once by the postgres image when its volume is initialised
-- (docker/Dockerfile.db), by psql, in the database POSTGRES_DB.
--
-- The schema has one source: the backend's migrations (backend/src/db/migrations.ts),
-- which every backend pod applies at start-up under an advisory lock, so the first
-- pod to start creates processed_images and everything else, and a new migration
-- needs no edit here. The earlier system's commands (`psql -U postgres -d imagedb -c
-- "SELECT … FROM processed_images"`) work once a backend pod has started, which
-- `npm run k8s:up` waits for.
--
-- This file only makes sure the database those commands name exists, whatever
-- POSTGRES_DB says (the image and the StatefulSet set it to imagedb, which the
-- entrypoint then creates itself; \gexec runs the statement only when it is missing).
SELECT 'CREATE DATABASE imagedb'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'imagedb')\gexec
